package pusher

import (
	"crypto/rand"
	"encoding/binary"
	"strconv"
)

// Protocol versions the server speaks. pusher-js 8 sends 7; 4–6 differ only
// in details the server does not depend on.
const (
	MinProtocol = 4
	MaxProtocol = 7
)

// CheckProtocol validates the protocol query parameter of a WebSocket
// upgrade: missing → 4008, not an integer → 4006, out of range → 4007.
func CheckProtocol(value string, present bool) *Error {
	if !present || value == "" {
		return ErrNoProtocol
	}
	v, err := strconv.Atoi(value)
	if err != nil {
		return ErrInvalidVersion
	}
	if v < MinProtocol || v > MaxProtocol {
		return ErrUnsupportedVersion
	}
	return nil
}

// NewSocketID returns a random socket id of the form the SDKs require,
// ^\d+\.\d+$. Sixty-two random bits make collisions negligible; the id is
// the exclusion key for socket_id on publish, so it must be unique.
func NewSocketID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	n := binary.LittleEndian.Uint64(b[:])
	hi := (n >> 32) & 0x7fffffff
	lo := n & 0x7fffffff
	buf := make([]byte, 0, 21)
	buf = strconv.AppendUint(buf, hi, 10)
	buf = append(buf, '.')
	buf = strconv.AppendUint(buf, lo, 10)
	return string(buf)
}

// ValidSocketID reports whether s has the form \d+\.\d+ (a bounded length
// keeps a hostile id from being large).
func ValidSocketID(s string) bool {
	if len(s) < 3 || len(s) > 41 {
		return false
	}
	dot := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if dot >= 0 {
				return false
			}
			dot = i
		case c < '0' || c > '9':
			return false
		}
	}
	return dot > 0 && dot < len(s)-1
}
