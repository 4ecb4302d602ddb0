package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// minRSABits refuses keys too weak to trust for identity.
const minRSABits = 2048

// publicKey is one verification key with the JWS algorithm it serves.
type publicKey struct {
	kid string // empty for PEM keys
	alg string // "RS256" or "ES256"
	key any    // *rsa.PublicKey or *ecdsa.PublicKey
}

// ParsePublicKeys reads the content of PARLEY_JWT_PUBLIC_KEY_FILE: either
// a JWKS document ({"keys":[…]}) or a single JWK, recognised by a leading
// '{', or one or more PEM blocks (PUBLIC KEY, RSA PUBLIC KEY or
// CERTIFICATE). Only RSA (≥2048 bits, for RS256) and P-256 ECDSA (for
// ES256) keys are accepted; private keys are refused so that a
// misconfigured deployment does not keep signing material around.
func parsePublicKeys(data []byte) ([]publicKey, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("public key file is empty")
	}
	var keys []publicKey
	var err error
	if trimmed[0] == '{' {
		keys, err = parseJWKS(trimmed)
	} else {
		keys, err = parsePEM(trimmed)
	}
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("public key file holds no usable RSA or P-256 key")
	}
	return keys, nil
}

func parseJWKS(data []byte) ([]publicKey, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("public key file is not valid JSON: %w", err)
	}
	var set jose.JSONWebKeySet
	if _, ok := probe["keys"]; ok {
		if err := json.Unmarshal(data, &set); err != nil {
			return nil, fmt.Errorf("invalid JWKS: %w", err)
		}
	} else {
		var k jose.JSONWebKey
		if err := json.Unmarshal(data, &k); err != nil {
			return nil, fmt.Errorf("invalid JWK: %w", err)
		}
		set.Keys = []jose.JSONWebKey{k}
	}
	var out []publicKey
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue // encryption keys are not for verifying signatures
		}
		if !k.IsPublic() {
			return nil, fmt.Errorf("JWKS key %d (kid %q) is a private or symmetric key; give only public keys", i, k.KeyID)
		}
		pk, err := classify(k.Key)
		if err != nil {
			return nil, fmt.Errorf("JWKS key %d (kid %q): %w", i, k.KeyID, err)
		}
		if k.Algorithm != "" && k.Algorithm != pk.alg {
			// A key pinned to another algorithm (RS512, PS256, …) is
			// not one this server verifies with.
			continue
		}
		pk.kid = k.KeyID
		out = append(out, pk)
	}
	return out, nil
}

func parsePEM(data []byte) ([]publicKey, error) {
	var out []publicKey
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var key any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			cert, err = x509.ParseCertificate(block.Bytes)
			if err == nil {
				key = cert.PublicKey
			}
		default:
			return nil, fmt.Errorf("PEM block %q is not a public key or certificate", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %q: %w", block.Type, err)
		}
		pk, err := classify(key)
		if err != nil {
			return nil, fmt.Errorf("PEM block %q: %w", block.Type, err)
		}
		out = append(out, pk)
	}
	if len(out) == 0 {
		return nil, errors.New("public key file is neither JSON (JWKS) nor PEM")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("public key file has trailing data after the last PEM block")
	}
	return out, nil
}

func classify(key any) (publicKey, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return publicKey{}, fmt.Errorf("RSA key has %d bits; at least %d are required", k.N.BitLen(), minRSABits)
		}
		return publicKey{alg: "RS256", key: k}, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return publicKey{}, fmt.Errorf("ECDSA key on %s; only P-256 (ES256) is supported", k.Curve.Params().Name)
		}
		return publicKey{alg: "ES256", key: k}, nil
	default:
		return publicKey{}, fmt.Errorf("unsupported key type %T; want RSA or P-256 ECDSA", key)
	}
}
