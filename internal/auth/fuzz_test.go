package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzFromHeader: any header value either yields a token that is a
// non-empty suffix of the input in the token68 alphabet, or an error.
func FuzzFromHeader(f *testing.F) {
	for _, s := range []string{"", "Bearer x.y.z", "bearer  a", "Basic abc", "Bearer a b", "Bearer \x00", "Bearer=", "B\u00e9arer x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := FromHeader(h)
		if err != nil {
			if tok != "" {
				t.Fatalf("token %q returned with error %v", tok, err)
			}
			if !errors.Is(err, ErrNoToken) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if tok == "" || !strings.HasSuffix(h, tok) || len(tok) > maxTokenLength {
			t.Fatalf("FromHeader(%q) = %q", h, tok)
		}
		// RFC 6750 §2.1 b64token, spelled out independently of isToken68.
		const b64token = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/="
		for i := 0; i < len(tok); i++ {
			if strings.IndexByte(b64token, tok[i]) < 0 {
				t.Fatalf("token %q has byte %q", tok, tok[i])
			}
		}
	})
}

// FuzzVerify: arbitrary bytes never panic and never authenticate unless
// they are the one validly signed seed token.
func FuzzVerify(f *testing.F) {
	v, err := New(Config{Secret: testSecret})
	if err != nil {
		f.Fatal(err)
	}
	c := jwt.MapClaims{"sub": "u", "role": "patient", "name": "n", "exp": time.Now().Add(24 * time.Hour).Unix()}
	good, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(testSecret)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		id, err := v.Verify(tok)
		if err == nil && tok != good {
			// A different string can still be valid if only base64
			// padding bits differ; it must then carry the same identity.
			if id.UserID != "u" {
				t.Fatalf("forged token %q verified as %+v", tok, id)
			}
		}
	})
}
