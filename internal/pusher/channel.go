package pusher

import (
	"errors"
	"strings"
)

// Kind is a channel's type, decided by its name's prefix.
type Kind uint8

const (
	Public Kind = iota
	Private
	Presence
	Encrypted    // private-encrypted-: private, payloads relayed untouched
	ServerToUser // #server-to-user-{id}: reached through sign-in, not auth
)

// ServerToUserPrefix is the internal channel of one signed-in user.
const ServerToUserPrefix = "#server-to-user-"

// Channel describes a channel name.
type Channel struct {
	Kind  Kind
	Cache bool // cache-, private-cache-, presence-cache-, private-encrypted-cache-
}

// NeedsAuth reports whether subscribing requires a signature.
func (c Channel) NeedsAuth() bool {
	return c.Kind == Private || c.Kind == Presence || c.Kind == Encrypted
}

// AllowsClientEvents reports whether clients may trigger client-* events on
// the channel. pusher-js only checks the prefix, so the server must.
func (c Channel) AllowsClientEvents() bool {
	return c.Kind == Private || c.Kind == Presence
}

// Classify returns the channel's kind. The prefixes are checked anchored
// and in order: private-encrypted- before private-.
func Classify(name string) Channel {
	switch {
	case strings.HasPrefix(name, "private-encrypted-"):
		return Channel{Kind: Encrypted, Cache: strings.HasPrefix(name, "private-encrypted-cache-")}
	case strings.HasPrefix(name, "private-"):
		return Channel{Kind: Private, Cache: strings.HasPrefix(name, "private-cache-")}
	case strings.HasPrefix(name, "presence-"):
		return Channel{Kind: Presence, Cache: strings.HasPrefix(name, "presence-cache-")}
	case strings.HasPrefix(name, ServerToUserPrefix):
		return Channel{Kind: ServerToUser}
	default:
		return Channel{Kind: Public, Cache: strings.HasPrefix(name, "cache-")}
	}
}

// Channel-name errors.
var (
	ErrChannelEmpty    = errors.New("channel name is empty")
	ErrChannelTooLong  = errors.New("channel name is too long")
	ErrChannelInvalid  = errors.New("channel name may contain only A-Z a-z 0-9 _ - = @ , . ;")
	ErrChannelReserved = errors.New("channel names starting with # are reserved")
)

// ValidateChannelName checks a channel name against Pusher's rules:
// [A-Za-z0-9_\-=@,.;], at most maxLen bytes, no leading '#' except the
// server-to-user channel, which the HTTP API and sign-in use.
func ValidateChannelName(name string, maxLen int) error {
	if name == "" {
		return ErrChannelEmpty
	}
	if maxLen > 0 && len(name) > maxLen {
		return ErrChannelTooLong
	}
	rest := name
	if name[0] == '#' {
		if !strings.HasPrefix(name, ServerToUserPrefix) || len(name) == len(ServerToUserPrefix) {
			return ErrChannelReserved
		}
		// The user id part takes any printable ASCII but space: ids such
		// as "auth0|abc" are signed in as they are.
		for i := len(ServerToUserPrefix); i < len(name); i++ {
			if name[i] <= ' ' || name[i] > '~' {
				return ErrChannelInvalid
			}
		}
		return nil
	}
	for i := 0; i < len(rest); i++ {
		if !channelByte[rest[i]] {
			return ErrChannelInvalid
		}
	}
	return nil
}

var channelByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "_-=@,.;" {
		t[c] = true
	}
	return t
}()

// IsClientEvent reports whether an event name is a client event.
func IsClientEvent(name string) bool { return strings.HasPrefix(name, "client-") }
