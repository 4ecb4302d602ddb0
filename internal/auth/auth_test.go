package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test")

// keys generated once per test binary: RSA generation is slow.
var (
	rsaKey    = mustRSA(2048)
	rsaKey2   = mustRSA(2048)
	ecKey     = mustEC(elliptic.P256())
	ecKeyP384 = mustEC(elliptic.P384())
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEC(c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func pkixPEM(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func goodClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"sub":  "patient-1",
		"role": "patient",
		"name": "Pat Ient",
		"exp":  now.Add(time.Hour).Unix(),
		"iat":  now.Unix(),
	}
}

func sign(t *testing.T, m jwt.SigningMethod, key any, c jwt.MapClaims, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newVerifier(t *testing.T, cfg Config) *Verifier {
	t.Helper()
	v, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func TestVerifyHS256(t *testing.T) {
	now := time.Now()
	v := newVerifier(t, Config{Secret: testSecret})
	id, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret, goodClaims(now), ""))
	if err != nil {
		t.Fatal(err)
	}
	want := Identity{UserID: "patient-1", Role: RolePatient, Name: "Pat Ient"}
	if id != want {
		t.Fatalf("identity = %+v, want %+v", id, want)
	}
}

func TestVerifyRS256PEMForms(t *testing.T) {
	now := time.Now()
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, goodClaims(now), "")
	certDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuer"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
	}, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuer"}}, &rsaKey.PublicKey, rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	forms := map[string][]byte{
		"PKIX":        pkixPEM(t, &rsaKey.PublicKey),
		"PKCS1":       pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)}),
		"certificate": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}),
		"two keys":    append(pkixPEM(t, &rsaKey2.PublicKey), pkixPEM(t, &rsaKey.PublicKey)...),
	}
	for name, pemBytes := range forms {
		t.Run(name, func(t *testing.T) {
			v := newVerifier(t, Config{PublicKeys: pemBytes})
			id, err := v.Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			if id.UserID != "patient-1" {
				t.Fatalf("sub = %q", id.UserID)
			}
		})
	}
}

func TestVerifyES256PEM(t *testing.T) {
	v := newVerifier(t, Config{PublicKeys: pkixPEM(t, &ecKey.PublicKey)})
	if got := v.Methods(); len(got) != 1 || got[0] != "ES256" {
		t.Fatalf("methods = %v, want [ES256]", got)
	}
	if _, err := v.Verify(sign(t, jwt.SigningMethodES256, ecKey, goodClaims(time.Now()), "")); err != nil {
		t.Fatal(err)
	}
	other := mustEC(elliptic.P256())
	if _, err := v.Verify(sign(t, jwt.SigningMethodES256, other, goodClaims(time.Now()), "")); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token from another EC key: err = %v, want ErrInvalidToken", err)
	}
}

func jwksFile(t *testing.T, keys ...jose.JSONWebKey) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerifyJWKSFile(t *testing.T) {
	now := time.Now()
	path := jwksFile(t,
		jose.JSONWebKey{Key: &rsaKey.PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
		jose.JSONWebKey{Key: &rsaKey2.PublicKey, KeyID: "rsa-2", Use: "sig"},
		jose.JSONWebKey{Key: &ecKey.PublicKey, KeyID: "ec-1", Algorithm: "ES256"},
		// An encryption key must be ignored, not used for signatures.
		jose.JSONWebKey{Key: &mustRSA(2048).PublicKey, KeyID: "enc", Use: "enc"},
	)
	cfg, err := LoadConfig("", path)
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, cfg)

	for _, tc := range []struct {
		name    string
		token   string
		wantErr error
	}{
		{"rsa by kid", sign(t, jwt.SigningMethodRS256, rsaKey, goodClaims(now), "rsa-1"), nil},
		{"rotated rsa by kid", sign(t, jwt.SigningMethodRS256, rsaKey2, goodClaims(now), "rsa-2"), nil},
		{"rsa without kid tries all", sign(t, jwt.SigningMethodRS256, rsaKey2, goodClaims(now), ""), nil},
		{"ec by kid", sign(t, jwt.SigningMethodES256, ecKey, goodClaims(now), "ec-1"), nil},
		{"kid of another key", sign(t, jwt.SigningMethodRS256, rsaKey, goodClaims(now), "rsa-2"), ErrInvalidToken},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, rsaKey, goodClaims(now), "nope"), ErrInvalidToken},
		{"rs kid on ec alg", sign(t, jwt.SigningMethodES256, ecKey, goodClaims(now), "rsa-1"), ErrInvalidToken},
		{"HS256 not configured", sign(t, jwt.SigningMethodHS256, testSecret, goodClaims(now), ""), ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(tc.token)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestSingleJWK(t *testing.T) {
	b, err := json.Marshal(jose.JSONWebKey{Key: &ecKey.PublicKey, KeyID: "only"})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, Config{PublicKeys: b})
	if _, err := v.Verify(sign(t, jwt.SigningMethodES256, ecKey, goodClaims(time.Now()), "only")); err != nil {
		t.Fatal(err)
	}
}

// TestAlgorithmConfusion signs HS256 tokens with the RSA public key's
// bytes as the HMAC secret — the classic attack on verifiers that pick
// the key before checking the algorithm.
func TestAlgorithmConfusion(t *testing.T) {
	pubPEM := pkixPEM(t, &rsaKey.PublicKey)
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	for _, cfg := range []Config{
		{PublicKeys: pubPEM},
		{PublicKeys: pubPEM, Secret: testSecret}, // HS256 enabled, but with its own secret
	} {
		v := newVerifier(t, cfg)
		for _, secret := range [][]byte{pubPEM, der} {
			tok := sign(t, jwt.SigningMethodHS256, secret, goodClaims(time.Now()), "")
			if _, err := v.Verify(tok); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("HS256 signed with the public key verified (methods %v): err = %v", v.Methods(), err)
			}
		}
	}
}

func TestRejects(t *testing.T) {
	now := time.Now()
	v := newVerifier(t, Config{Secret: testSecret, PublicKeys: pkixPEM(t, &rsaKey.PublicKey)})
	with := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := goodClaims(now)
		mod(c)
		return c
	}
	good := sign(t, jwt.SigningMethodHS256, testSecret, goodClaims(now), "")
	parts := strings.Split(good, ".")
	tamperedPayload := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"provider-1","role":"provider","name":"X","exp":9999999999}`)) + "." + parts[2]
	sig := []byte(parts[2])
	sig[3] ^= 1
	if sig[3] == parts[2][3] {
		sig[3] = 'A'
	}
	tamperedSig := parts[0] + "." + parts[1] + "." + string(sig)
	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, goodClaims(now)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		{"expired", sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }), ""), ErrExpired},
		{"not yet valid", sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() }), ""), ErrNotYetValid},
		{"no exp", sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { delete(c, "exp") }), ""), ErrInvalidClaims},
		{"no sub", sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { delete(c, "sub") }), ""), ErrInvalidClaims},
		{"sub with space", sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["sub"] = "a b" }), ""), ErrInvalidClaims},
		{"sub with hash", sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["sub"] = "#server-to-user-x" }), ""), ErrInvalidClaims},
		{"sub too long", sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["sub"] = strings.Repeat("a", 129) }), ""), ErrInvalidClaims},
		{"bad role", sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["role"] = "admin" }), ""), ErrInvalidClaims},
		{"no role", sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { delete(c, "role") }), ""), ErrInvalidClaims},
		{"role wrong type", sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["role"] = 7 }), ""), ErrInvalidToken},
		{"no name", sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { delete(c, "name") }), ""), ErrInvalidClaims},
		{"name with newline", sign(t, jwt.SigningMethodHS256, testSecret, with(func(c jwt.MapClaims) { c["name"] = "a\nb" }), ""), ErrInvalidClaims},
		{"alg none", noneTok, ErrInvalidToken},
		{"RS512 not accepted", sign(t, jwt.SigningMethodRS512, rsaKey, goodClaims(now), ""), ErrInvalidToken},
		{"PS256 not accepted", sign(t, jwt.SigningMethodPS256, rsaKey, goodClaims(now), ""), ErrInvalidToken},
		{"wrong secret", sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-another"), goodClaims(now), ""), ErrInvalidToken},
		{"rsa key not configured", sign(t, jwt.SigningMethodRS256, rsaKey2, goodClaims(now), ""), ErrInvalidToken},
		{"tampered payload", tamperedPayload, ErrInvalidToken},
		{"tampered signature", tamperedSig, ErrInvalidToken},
		{"garbage", "not.a.jwt", ErrInvalidToken},
		{"empty", "", ErrInvalidToken},
		{"huge", strings.Repeat("a", maxTokenLength+1), ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := v.Verify(tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if id != (Identity{}) {
				t.Fatalf("identity leaked on error: %+v", id)
			}
		})
	}
}

func TestLeeway(t *testing.T) {
	base := time.Now()
	clock := base
	v := newVerifier(t, Config{Secret: testSecret, Leeway: 10 * time.Second, Now: func() time.Time { return clock }})
	c := goodClaims(base)
	c["exp"] = base.Unix()
	c["nbf"] = base.Add(5 * time.Second).Unix()
	tok := sign(t, jwt.SigningMethodHS256, testSecret, c, "")
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	clock = base.Add(11 * time.Second)
	if _, err := v.Verify(tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("past leeway: err = %v, want ErrExpired", err)
	}
}

func TestAllowMissingExp(t *testing.T) {
	v := newVerifier(t, Config{Secret: testSecret, AllowMissingExp: true})
	c := goodClaims(time.Now())
	delete(c, "exp")
	if _, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret, c, "")); err != nil {
		t.Fatal(err)
	}
}

func TestIssuerAudience(t *testing.T) {
	v := newVerifier(t, Config{Secret: testSecret, Issuer: "host", Audience: "parley"})
	c := goodClaims(time.Now())
	if _, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret, c, "")); !errors.Is(err, ErrInvalidClaims) {
		t.Fatalf("missing iss/aud: err = %v", err)
	}
	c["iss"], c["aud"] = "host", "parley"
	if _, err := v.Verify(sign(t, jwt.SigningMethodHS256, testSecret, c, "")); err != nil {
		t.Fatal(err)
	}
}

func TestConfigErrors(t *testing.T) {
	enc, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: rsaKey, KeyID: "private"}}})
	for name, cfg := range map[string]Config{
		"nothing":          {},
		"short secret":     {Secret: []byte("short")},
		"garbage key":      {PublicKeys: []byte("hello")},
		"bad json":         {PublicKeys: []byte("{nope")},
		"private JWK":      {PublicKeys: enc},
		"private PEM":      {PublicKeys: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})},
		"small rsa":        {PublicKeys: pkixPEM(t, &mustRSA(1024).PublicKey)},
		"P-384":            {PublicKeys: pkixPEM(t, &ecKeyP384.PublicKey)},
		"empty jwks":       {PublicKeys: []byte(`{"keys":[]}`)},
		"trailing garbage": {PublicKeys: append(pkixPEM(t, &rsaKey.PublicKey), "junk"...)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(cfg); err == nil {
				t.Fatal("New accepted a bad config")
			}
		})
	}
	if _, err := LoadConfig("", filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Fatal("LoadConfig accepted a missing file")
	}
}

func TestIssueRoundTrip(t *testing.T) {
	v := newVerifier(t, Config{Secret: testSecret})
	tok, err := Issue(testSecret, "prov-9", RoleProvider, "Dr. Who", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if id != (Identity{UserID: "prov-9", Role: RoleProvider, Name: "Dr. Who"}) {
		t.Fatalf("identity = %+v", id)
	}
	if _, err := Issue(testSecret, "x", "admin", "n", time.Hour); err == nil {
		t.Fatal("Issue accepted role admin")
	}
	if _, err := Issue([]byte("short"), "x", RolePatient, "n", time.Hour); err == nil {
		t.Fatal("Issue accepted a short secret")
	}
	if _, err := Issue(testSecret, "x", RolePatient, "n", 0); err == nil {
		t.Fatal("Issue accepted ttl 0")
	}
	old, err := issueAt(testSecret, "x", RolePatient, "n", time.Now().Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(old); !errors.Is(err, ErrExpired) {
		t.Fatalf("issued token past ttl: err = %v", err)
	}
}

func TestFromHeader(t *testing.T) {
	for _, tc := range []struct {
		in, tok string
		err     error
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", nil},
		{"bearer abc", "abc", nil},
		{"BEARER  abc", "abc", nil},
		{"", "", ErrNoToken},
		{"Bearer", "", ErrMalformed},
		{"Bearer ", "", ErrMalformed},
		{"Basic dXNlcjpwYXNz", "", ErrMalformed},
		{"Bearer a b", "", ErrMalformed},
		{"Bearer a,b", "", ErrMalformed},
		{"Bearer a\x00b", "", ErrMalformed},
		{"Bearerabc", "", ErrMalformed},
		{"Bearer " + strings.Repeat("a", maxTokenLength+1), "", ErrMalformed},
	} {
		got, err := FromHeader(tc.in)
		if got != tc.tok || !errors.Is(err, tc.err) {
			t.Errorf("FromHeader(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.tok, tc.err)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	v := newVerifier(t, Config{Secret: testSecret})
	r := httptest.NewRequest("GET", "/", nil)
	if _, err := v.Authenticate(r); !errors.Is(err, ErrNoToken) {
		t.Fatalf("no header: err = %v", err)
	}
	r.Header.Set("Authorization", "Bearer "+sign(t, jwt.SigningMethodHS256, testSecret, goodClaims(time.Now()), ""))
	if id, err := v.Authenticate(r); err != nil || id.UserID != "patient-1" {
		t.Fatalf("Authenticate = %+v, %v", id, err)
	}
}
