package auth

import "strings"

// maxTokenLength bounds what FromHeader accepts; real tokens are well
// under 2 KiB, and a bound keeps a hostile header from costing a parse.
const maxTokenLength = 8 << 10

// FromHeader extracts the token from an Authorization header value of the
// form "Bearer <token>" (RFC 6750 §2.1; the scheme is case-insensitive).
// An empty header yields ErrNoToken, anything else malformed ErrMalformed.
func FromHeader(h string) (string, error) {
	if h == "" {
		return "", ErrNoToken
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", ErrMalformed
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || len(token) > maxTokenLength {
		return "", ErrMalformed
	}
	// token68 alphabet: a JWT uses base64url plus '.', so anything else
	// (spaces, commas, control bytes) is not a token we could verify.
	for i := 0; i < len(token); i++ {
		if !isToken68(token[i]) {
			return "", ErrMalformed
		}
	}
	return token, nil
}

// isToken68 reports whether c is in RFC 6750's b64token alphabet. It is
// written as a test, not a table like pusher's channel-name alphabet: the
// two share only their letters and digits.
func isToken68(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/=", c) >= 0
}
