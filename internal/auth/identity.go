package auth

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/pusher"
)

// Role is what a user is in the messenger.
type Role string

// The roles a token may carry.
const (
	RolePatient  Role = "patient"
	RoleProvider Role = "provider"
	// RoleService is the host application's backend: it may act for any
	// participant, and what it does is recorded as done by the service.
	RoleService Role = "service"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	return r == RolePatient || r == RoleProvider || r == RoleService
}

// Identity is the verified caller of a request.
type Identity struct {
	UserID string // the token's sub
	Role   Role
	Name   string
}

// Limits on claims. The user id ends up in channel names
// (private-user-{id}, presence-user-{id}) and Pusher caps user ids at 128
// bytes, so it must obey the channel-name alphabet and that length.
const (
	MaxUserIDLength = 128
	MaxNameLength   = 200
)

// Errors returned by Verify and FromHeader. Every one of them means the
// request is unauthenticated (HTTP 401); ErrNoToken is the only one where
// the client sent no credentials at all.
var (
	ErrNoToken       = errors.New("missing bearer token")
	ErrMalformed     = errors.New("malformed Authorization header: want \"Bearer <token>\"")
	ErrInvalidToken  = errors.New("invalid token")
	ErrExpired       = errors.New("token expired")
	ErrNotYetValid   = errors.New("token not valid yet")
	ErrInvalidClaims = errors.New("invalid token claims")
)

// validateIdentity checks the claims that make an Identity.
func validateIdentity(id Identity) error {
	if id.UserID == "" {
		return fmt.Errorf("%w: sub is required", ErrInvalidClaims)
	}
	if len(id.UserID) > MaxUserIDLength {
		return fmt.Errorf("%w: sub is longer than %d bytes", ErrInvalidClaims, MaxUserIDLength)
	}
	// A sub starting with '#' would pass as the server-to-user prefix in
	// ValidateChannelName; refuse it outright.
	if id.UserID[0] == '#' || pusher.ValidateChannelName(id.UserID, 0) != nil {
		return fmt.Errorf("%w: sub may contain only A-Z a-z 0-9 _ - = @ , . ;", ErrInvalidClaims)
	}
	if !id.Role.Valid() {
		return fmt.Errorf("%w: role must be patient, provider or service", ErrInvalidClaims)
	}
	if id.Name == "" {
		return fmt.Errorf("%w: name is required", ErrInvalidClaims)
	}
	if len(id.Name) > MaxNameLength || !utf8.ValidString(id.Name) {
		return fmt.Errorf("%w: name must be valid UTF-8 of at most %d bytes", ErrInvalidClaims, MaxNameLength)
	}
	for _, c := range id.Name {
		if unicode.IsControl(c) {
			return fmt.Errorf("%w: name contains control characters", ErrInvalidClaims)
		}
	}
	return nil
}
