package auth

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MinSecretLength is the shortest HS256 secret accepted: RFC 7518 §3.2
// requires a key at least as long as the hash output (32 bytes).
const MinSecretLength = 32

// DefaultLeeway absorbs clock skew between the host application and
// Parley when checking exp and nbf.
const DefaultLeeway = 30 * time.Second

// Config says which tokens a Verifier accepts. Set Secret, PublicKeys, or
// both; at least one is required.
type Config struct {
	// Secret is the HS256 shared secret (PARLEY_JWT_SECRET), ≥32 bytes.
	Secret []byte
	// PublicKeys is the content of PARLEY_JWT_PUBLIC_KEY_FILE: PEM or
	// JWKS, detected by content. Its keys verify RS256 and ES256 tokens.
	PublicKeys []byte
	// Leeway on exp and nbf; 0 means DefaultLeeway, negative means none.
	Leeway time.Duration
	// Issuer and Audience, when set, must match iss and aud.
	Issuer   string
	Audience string
	// AllowMissingExp accepts tokens without exp. Off by default: a token
	// that never expires cannot be revoked.
	AllowMissingExp bool
	// Now replaces the clock in tests; nil means time.Now.
	Now func() time.Time
}

// LoadConfig builds a Config from a secret and a key file path, either of
// which may be empty.
func LoadConfig(secret, publicKeyFile string) (Config, error) {
	cfg := Config{}
	if secret != "" {
		cfg.Secret = []byte(secret)
	}
	if publicKeyFile != "" {
		b, err := os.ReadFile(publicKeyFile)
		if err != nil {
			return Config{}, fmt.Errorf("read JWT public key file: %w", err)
		}
		cfg.PublicKeys = b
	}
	return cfg, nil
}

// Verifier checks bearer tokens. It is immutable and safe for concurrent
// use.
type Verifier struct {
	secret  []byte
	rsa     []publicKey
	ec      []publicKey
	methods []string
	parser  *jwt.Parser
}

// New returns a Verifier for cfg, or an error that says what is wrong with
// the configuration.
func New(cfg Config) (*Verifier, error) {
	v := &Verifier{}
	if len(cfg.Secret) > 0 {
		if len(cfg.Secret) < MinSecretLength {
			return nil, fmt.Errorf("JWT secret is %d bytes; at least %d are required", len(cfg.Secret), MinSecretLength)
		}
		v.secret = append([]byte(nil), cfg.Secret...)
		v.methods = append(v.methods, jwt.SigningMethodHS256.Alg())
	}
	if len(cfg.PublicKeys) > 0 {
		keys, err := parsePublicKeys(cfg.PublicKeys)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			switch k.alg {
			case "RS256":
				v.rsa = append(v.rsa, k)
			case "ES256":
				v.ec = append(v.ec, k)
			}
		}
		if len(v.rsa) > 0 {
			v.methods = append(v.methods, jwt.SigningMethodRS256.Alg())
		}
		if len(v.ec) > 0 {
			v.methods = append(v.methods, jwt.SigningMethodES256.Alg())
		}
	}
	if len(v.methods) == 0 {
		return nil, errors.New("no JWT verification key: set a secret (PARLEY_JWT_SECRET) or a public key file (PARLEY_JWT_PUBLIC_KEY_FILE)")
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = DefaultLeeway
	} else if leeway < 0 {
		leeway = 0
	}
	opts := []jwt.ParserOption{
		// Only the algorithms we hold keys for: this is what stops
		// "none" and algorithm confusion before any key is chosen.
		jwt.WithValidMethods(v.methods),
		jwt.WithLeeway(leeway),
	}
	if !cfg.AllowMissingExp {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	if cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Methods lists the JWS algorithms this Verifier accepts.
func (v *Verifier) Methods() []string { return append([]string(nil), v.methods...) }

// claims are the token fields Parley reads.
type claims struct {
	Role string `json:"role"`
	Name string `json:"name"`
	jwt.RegisteredClaims
}

// Verify checks a compact JWT and returns the identity it carries. Errors
// wrap ErrInvalidToken, ErrExpired, ErrNotYetValid or ErrInvalidClaims.
func (v *Verifier) Verify(token string) (Identity, error) {
	if len(token) > maxTokenLength {
		return Identity{}, ErrInvalidToken
	}
	var c claims
	_, err := v.parser.ParseWithClaims(token, &c, v.key)
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired):
		return Identity{}, ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return Identity{}, ErrNotYetValid
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return Identity{}, fmt.Errorf("%w: exp is required", ErrInvalidClaims)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer), errors.Is(err, jwt.ErrTokenInvalidAudience):
		return Identity{}, fmt.Errorf("%w: wrong issuer or audience", ErrInvalidClaims)
	default:
		// Signature, algorithm and format failures all look alike to
		// the caller: telling them apart would help an attacker probe.
		return Identity{}, ErrInvalidToken
	}
	id := Identity{UserID: c.Subject, Role: Role(c.Role), Name: c.Name}
	if err := validateIdentity(id); err != nil {
		return Identity{}, err
	}
	return id, nil
}

// Authenticate reads the Authorization header of r and verifies its token.
func (v *Verifier) Authenticate(r *http.Request) (Identity, error) {
	tok, err := FromHeader(r.Header.Get("Authorization"))
	if err != nil {
		return Identity{}, err
	}
	return v.Verify(tok)
}

// key chooses the verification key(s) for a token whose algorithm the
// parser has already checked against v.methods. Each algorithm gets only
// keys of its own type, so an RSA public key can never act as an HMAC
// secret.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	switch t.Method.Alg() {
	case jwt.SigningMethodHS256.Alg():
		if v.secret == nil {
			return nil, ErrInvalidToken
		}
		return v.secret, nil
	case jwt.SigningMethodRS256.Alg():
		return pick(v.rsa, kid)
	case jwt.SigningMethodES256.Alg():
		return pick(v.ec, kid)
	}
	return nil, ErrInvalidToken
}

// pick returns the keys with the token's kid, or every key when the token
// names none (a lone PEM key has no kid).
func pick(keys []publicKey, kid string) (any, error) {
	var set jwt.VerificationKeySet
	for _, k := range keys {
		if kid == "" || k.kid == kid {
			set.Keys = append(set.Keys, k.key)
		}
	}
	switch len(set.Keys) {
	case 0:
		return nil, ErrInvalidToken
	case 1:
		return set.Keys[0], nil
	}
	return set, nil
}

// Issue signs an HS256 token for sub with the given role and name, valid
// for ttl from now. The `parley token` command uses it for development and
// demos; production tokens come from the host application.
func Issue(secret []byte, sub string, role Role, name string, ttl time.Duration) (string, error) {
	return issueAt(secret, sub, role, name, time.Now(), ttl)
}

func issueAt(secret []byte, sub string, role Role, name string, now time.Time, ttl time.Duration) (string, error) {
	if len(secret) < MinSecretLength {
		return "", fmt.Errorf("JWT secret is %d bytes; at least %d are required", len(secret), MinSecretLength)
	}
	if ttl <= 0 {
		return "", errors.New("token ttl must be positive")
	}
	if err := validateIdentity(Identity{UserID: sub, Role: role, Name: name}); err != nil {
		return "", err
	}
	c := claims{
		Role: string(role),
		Name: name,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   sub,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}
