package messenger

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"
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

// idEncoding sorts like the bytes it encodes.
var idEncoding = base32.HexEncoding.WithPadding(base32.NoPadding)

// newID returns a 26-character id: 48 bits of milliseconds then 80 random
// bits, in lowercase base32hex. Time order keeps inserts at the right edge
// of the primary-key index instead of dirtying a random page per row.
func newID() string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	rand.Read(b[6:])
	return strings.ToLower(idEncoding.EncodeToString(b[:]))
}

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
