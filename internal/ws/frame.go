package ws

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Close status codes of RFC 6455 §7.4.1 that the transport itself uses.
const (
	StatusNormal       = 1000
	StatusGoingAway    = 1001
	StatusProtocol     = 1002
	StatusUnsupported  = 1003
	StatusNoStatus     = 1005 // never sent: the peer's close had no code
	StatusInvalidData  = 1007
	StatusTooBig       = 1009
	StatusInternal     = 1011
	maxControlPayload  = 125
	maxCloseReasonSize = maxControlPayload - 2
)

// TextFrame returns payload as one unmasked, final text frame: header and
// payload in a single allocation. Server frames are never masked, so the
// result can be handed unchanged to every recipient of a broadcast.
func TextFrame(payload []byte) []byte {
	return appendFrame(make([]byte, 0, headerSize(len(payload))+len(payload)), opText, payload)
}

// headerSize is the size of an unmasked frame header for n payload bytes.
func headerSize(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= 0xFFFF:
		return 4
	default:
		return 10
	}
}

// appendFrame appends one unmasked final frame with opcode op to dst.
func appendFrame(dst []byte, op byte, payload []byte) []byte {
	n := len(payload)
	b0 := 0x80 | op
	switch {
	case n <= 125:
		dst = append(dst, b0, byte(n))
	case n <= 0xFFFF:
		dst = append(dst, b0, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}

// closeFrame builds a close frame with code and reason; the reason is cut
// to the 123 bytes a control frame allows, on a UTF-8 boundary.
func closeFrame(code int, reason string) []byte {
	if code == 0 || code == StatusNoStatus {
		return appendFrame(make([]byte, 0, 2), opClose, nil)
	}
	if len(reason) > maxCloseReasonSize {
		reason = reason[:maxCloseReasonSize]
		for len(reason) > 0 && !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	body := make([]byte, 2+len(reason))
	ws.PutCloseFrameBody(body, ws.StatusCode(code), reason)
	return appendFrame(make([]byte, 0, 2+len(body)), opClose, body)
}

// header is a parsed client frame header.
type header struct {
	fin    bool
	op     byte
	mask   [4]byte
	length int64 // payload length as declared by the peer
	size   int   // header bytes
}

// parseHeader parses a client frame header at the start of b. ok is false
// when b does not yet hold the whole header. Errors are close codes with
// a reason, for headers no client may send.
func parseHeader(b []byte) (h header, ok bool, err *closeError) {
	if len(b) < 2 {
		return h, false, nil
	}
	h.fin = b[0]&0x80 != 0
	h.op = b[0] & 0x0F
	if b[0]&0x70 != 0 {
		return h, false, errRSV
	}
	if b[1]&0x80 == 0 {
		return h, false, errUnmasked
	}
	h.size = 2
	switch l := b[1] & 0x7F; l {
	case 126:
		h.size += 2
		if len(b) < h.size {
			return h, false, nil
		}
		h.length = int64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		h.size += 8
		if len(b) < h.size {
			return h, false, nil
		}
		v := binary.BigEndian.Uint64(b[2:])
		if v > 1<<62 { // the most significant bit must be 0; keep far from overflow
			return h, false, errTooBig
		}
		h.length = int64(v)
	default:
		h.length = int64(l)
	}
	h.size += 4
	if len(b) < h.size {
		return h, false, nil
	}
	copy(h.mask[:], b[h.size-4:h.size])
	switch h.op {
	case opContinuation, opText, opBinary:
	case opClose, opPing, opPong:
		if !h.fin {
			return h, false, errControlFragmented
		}
		if h.length > maxControlPayload {
			return h, false, errControlTooBig
		}
	default:
		return h, false, errOpcode
	}
	return h, true, nil
}

// closeError is a reason to fail the connection with a close code.
type closeError struct {
	code   int
	reason string
}

func (e *closeError) Error() string { return e.reason }

var (
	errRSV               = &closeError{StatusProtocol, "reserved bits set"}
	errUnmasked          = &closeError{StatusProtocol, "client frame not masked"}
	errOpcode            = &closeError{StatusProtocol, "unknown opcode"}
	errControlFragmented = &closeError{StatusProtocol, "fragmented control frame"}
	errControlTooBig     = &closeError{StatusProtocol, "control frame too large"}
	errContinuation      = &closeError{StatusProtocol, "unexpected continuation frame"}
	errExpectedCont      = &closeError{StatusProtocol, "expected continuation frame"}
	errCloseBody         = &closeError{StatusProtocol, "invalid close frame"}
	errBinary            = &closeError{StatusUnsupported, "binary frames are not supported"}
	errTooBig            = &closeError{StatusTooBig, "message too big"}
	errUTF8              = &closeError{StatusInvalidData, "text is not valid UTF-8"}
)
