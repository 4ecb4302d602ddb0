package auth

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkVerify measures the per-request cost of authentication.
func BenchmarkVerify(b *testing.B) {
	now := time.Now()
	for _, bc := range []struct {
		name   string
		cfg    Config
		method jwt.SigningMethod
		key    any
	}{
		{"HS256", Config{Secret: testSecret}, jwt.SigningMethodHS256, testSecret},
		{"RS256", Config{PublicKeys: pkixPEM(b, &rsaKey.PublicKey)}, jwt.SigningMethodRS256, rsaKey},
		{"ES256", Config{PublicKeys: pkixPEM(b, &ecKey.PublicKey)}, jwt.SigningMethodES256, ecKey},
	} {
		b.Run(bc.name, func(b *testing.B) {
			v, err := New(bc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			tok, err := jwt.NewWithClaims(bc.method, goodClaims(now)).SignedString(bc.key)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
