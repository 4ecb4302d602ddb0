// Package auth verifies the bearer JWTs that the host application issues
// for messenger requests and turns them into an Identity: user id, role
// and display name.
//
// Tokens are signed with HS256 and a shared secret, or with RS256/ES256
// and a public key (PEM, or a JWKS file). The set of accepted algorithms
// is fixed by what is configured, so an HS256 token can never be checked
// against an RSA public key used as an HMAC secret, and "alg":"none" is
// never accepted.
//
// A Verifier is immutable after New and safe for concurrent use. All
// functions in this package are pure and safe to call concurrently.
package auth
