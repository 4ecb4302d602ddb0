package ws

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// frameSink receives what a frameReader finds in the client's bytes.
type frameSink interface {
	// message is one complete text message; the sink owns msg.
	message(msg []byte)
	// ping carries the payload of a ping frame, valid during the call.
	ping(payload []byte)
	pong()
	// peerClose reports the peer's close frame; code is StatusNoStatus
	// when the frame carried none.
	peerClose(code int, reason string)
}

// frameReader turns a stream of client bytes into messages. It keeps only
// what an incomplete frame or a fragmented message needs between reads, so
// an idle connection holds no buffer. It never allocates on a length the
// peer declared: buffers grow with the bytes that actually arrive.
type frameReader struct {
	maxMessage int64
	partial    []byte // an incomplete frame carried to the next read
	msg        []byte // fragments of a text message so far
	inMessage  bool
	closed     bool // a close frame was read; later bytes are ignored
}

// feed parses every complete frame at the start of data and returns the
// incomplete tail, which the caller keeps (see keep). data is unmasked in
// place. A non-nil error means the connection must be failed with it.
func (r *frameReader) feed(data []byte, s frameSink) (rest []byte, frames int, err *closeError) {
	for !r.closed {
		h, ok, herr := parseHeader(data)
		if herr != nil {
			return nil, frames, herr
		}
		if !ok {
			return data, frames, nil
		}
		switch h.op {
		case opBinary:
			return nil, frames, errBinary
		case opText:
			if r.inMessage {
				return nil, frames, errExpectedCont
			}
			if h.length > r.maxMessage {
				return nil, frames, errTooBig
			}
		case opContinuation:
			if !r.inMessage {
				return nil, frames, errContinuation
			}
			if int64(len(r.msg))+h.length > r.maxMessage {
				return nil, frames, errTooBig
			}
		}
		end := int64(h.size) + h.length
		if int64(len(data)) < end {
			return data, frames, nil
		}
		payload := data[h.size:end]
		data = data[end:]
		frames++
		ws.Cipher(payload, h.mask, 0)
		if err := r.frame(h, payload, s); err != nil {
			return nil, frames, err
		}
	}
	return nil, frames, nil
}

// frame handles one complete, unmasked frame.
func (r *frameReader) frame(h header, payload []byte, s frameSink) *closeError {
	switch h.op {
	case opText:
		if h.fin {
			if !utf8.Valid(payload) {
				return errUTF8
			}
			s.message(append(make([]byte, 0, len(payload)), payload...))
			return nil
		}
		r.inMessage = true
		r.msg = append(make([]byte, 0, len(payload)), payload...)
	case opContinuation:
		r.msg = append(r.msg, payload...)
		if h.fin {
			msg := r.msg
			r.msg, r.inMessage = nil, false
			if !utf8.Valid(msg) {
				return errUTF8
			}
			s.message(msg)
		}
	case opPing:
		s.ping(payload)
	case opPong:
		s.pong()
	case opClose:
		code, reason, err := parseCloseBody(payload)
		if err != nil {
			return err
		}
		r.closed = true
		r.msg, r.inMessage = nil, false
		s.peerClose(code, reason)
	}
	return nil
}

// parseCloseBody validates a close frame's payload (RFC 6455 §5.5.1, §7.4).
func parseCloseBody(p []byte) (int, string, *closeError) {
	switch {
	case len(p) == 0:
		return StatusNoStatus, "", nil
	case len(p) == 1:
		return 0, "", errCloseBody
	}
	code := ws.StatusCode(binary.BigEndian.Uint16(p))
	reason := string(p[2:])
	if ws.CheckCloseFrameData(code, reason) != nil {
		return 0, "", errCloseBody
	}
	return int(code), reason, nil
}

// consume feeds one read's worth of bytes, chunk, which the caller may
// reuse afterwards: an incomplete trailing frame is copied into r.partial.
// Only a frame split across reads costs this copy.
func (r *frameReader) consume(chunk []byte, s frameSink) (frames int, err *closeError) {
	if len(r.partial) == 0 {
		rest, n, err := r.feed(chunk, s)
		if len(rest) > 0 && err == nil {
			r.partial = append(make([]byte, 0, max(len(rest), 512)), rest...)
		}
		return n, err
	}
	r.partial = append(r.partial, chunk...)
	rest, n, err := r.feed(r.partial, s)
	switch {
	case len(rest) == 0 || err != nil:
		r.partial = nil // idle connections hold no buffer
	case cap(r.partial) <= 4*max(len(rest), 1024):
		r.partial = r.partial[:copy(r.partial, rest)] // copy is memmove-safe
	default: // do not pin a large buffer for a small tail
		r.partial = append(make([]byte, 0, max(len(rest), 512)), rest...)
	}
	return n, err
}
