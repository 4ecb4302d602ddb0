package messenger

import (
	"crypto/rand"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on identifiers. User and thread ids end up in Pusher channel names
// (private-user-{id}, private-thread-{id}), so they obey that alphabet.
const (
	MaxIDLength       = 128
	MaxClientIDLength = 128
	MaxSubjectRunes   = 200
	MaxNameRunes      = 200
)

// newID returns a random 26-character lowercase base32 id (130 bits).
func newID() string { return strings.ToLower(rand.Text()) }

// validID reports whether s can be an id: 1..128 bytes of the channel-name
// alphabet.
func validID(s string) bool {
	if s == "" || len(s) > MaxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("_-=@,.;", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validClientID accepts any printable UTF-8 up to 128 bytes.
func validClientID(s string) bool {
	if s == "" || len(s) > MaxClientIDLength || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// checkText validates message text: valid UTF-8, no NUL, at most max runes.
func checkText(s string, max int) error {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return Errorf(EINVALID, "content must be valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return Errorf(ETOOLARGE, "content is %d characters; the limit is %d", n, max)
	}
	return nil
}

func checkActor(a Actor) error {
	if !validID(a.UserID) || !a.Role.Valid() {
		return Errorf(EUNAUTHORIZED, "invalid identity")
	}
	return nil
}
