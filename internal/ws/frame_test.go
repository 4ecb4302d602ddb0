package ws

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

func TestTextFrameMatchesRFC(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 70000} {
		payload := bytes.Repeat([]byte("a"), n)
		got := TextFrame(payload)
		f, err := ws.ReadFrame(bytes.NewReader(got))
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if !f.Header.Fin || f.Header.OpCode != ws.OpText || f.Header.Masked || !bytes.Equal(f.Payload, payload) {
			t.Fatalf("n=%d: header %+v", n, f.Header)
		}
		if len(got) != cap(got) {
			t.Fatalf("n=%d: len %d cap %d: not one exact allocation", n, len(got), cap(got))
		}
	}
}

func TestCloseFrame(t *testing.T) {
	f, err := ws.ReadFrame(bytes.NewReader(closeFrame(4001, "Application does not exist")))
	if err != nil {
		t.Fatal(err)
	}
	code, reason := ws.ParseCloseFrameData(f.Payload)
	if f.Header.OpCode != ws.OpClose || code != 4001 || reason != "Application does not exist" {
		t.Fatalf("got %v %d %q", f.Header.OpCode, code, reason)
	}
	if f := closeFrame(StatusNoStatus, "x"); !bytes.Equal(f, []byte{0x88, 0}) {
		t.Fatalf("no-status close frame %x", f)
	}
}

// recorder is a frameSink that writes down what it was given.
type recorder struct {
	events []string
}

func (r *recorder) message(msg []byte) { r.events = append(r.events, "msg:"+string(msg)) }
func (r *recorder) ping(p []byte)      { r.events = append(r.events, "ping:"+string(p)) }
func (r *recorder) pong()              { r.events = append(r.events, "pong") }
func (r *recorder) peerClose(c int, s string) {
	r.events = append(r.events, "close:"+string(binary.BigEndian.AppendUint16(nil, uint16(c)))+s)
}

func maskedFrame(op ws.OpCode, fin bool, payload []byte) []byte {
	var b bytes.Buffer
	_ = ws.WriteFrame(&b, ws.MaskFrame(ws.NewFrame(op, fin, payload)))
	return b.Bytes()
}

func TestReaderSequence(t *testing.T) {
	var in []byte
	in = append(in, maskedFrame(ws.OpText, true, []byte("one"))...)
	in = append(in, maskedFrame(ws.OpText, false, []byte("t"))...)
	in = append(in, maskedFrame(ws.OpPing, true, []byte("p"))...)
	in = append(in, maskedFrame(ws.OpContinuation, true, []byte("wo"))...)
	in = append(in, maskedFrame(ws.OpPong, true, nil)...)
	in = append(in, maskedFrame(ws.OpClose, true, ws.NewCloseFrameBody(1000, "bye"))...)
	in = append(in, maskedFrame(ws.OpText, true, []byte("after close"))...)
	want := []string{"msg:one", "ping:p", "msg:two", "pong", "close:\x03\xe8bye"}
	for split := 0; split <= len(in); split++ {
		r := &frameReader{maxMessage: 1 << 10}
		rec := &recorder{}
		for _, chunk := range [][]byte{slices.Clone(in[:split]), slices.Clone(in[split:])} {
			if _, err := r.consume(chunk, rec); err != nil {
				t.Fatalf("split %d: %v", split, err)
			}
		}
		if !slices.Equal(rec.events, want) {
			t.Fatalf("split %d: %q", split, rec.events)
		}
		if r.partial != nil {
			t.Fatalf("split %d: a buffer is kept after a complete read", split)
		}
	}
}

// FuzzReadFrames feeds arbitrary client bytes, cut at an arbitrary point,
// to the frame reader: it must not panic, must deliver only complete
// valid UTF-8 messages within the size limit, and must give the same
// result whether the bytes arrive at once or in two reads.
func FuzzReadFrames(f *testing.F) {
	f.Add(maskedFrame(ws.OpText, true, []byte(`{"event":"pusher:ping","data":{}}`)), uint16(3))
	f.Add(append(maskedFrame(ws.OpText, false, []byte("a")), maskedFrame(ws.OpContinuation, true, []byte("b"))...), uint16(7))
	f.Add(maskedFrame(ws.OpPing, true, []byte("x")), uint16(1))
	f.Add(maskedFrame(ws.OpClose, true, ws.NewCloseFrameBody(4200, "r")), uint16(0))
	f.Add(maskedFrame(ws.OpBinary, true, []byte{0}), uint16(2))
	f.Add(maskedFrame(ws.OpText, true, bytes.Repeat([]byte("z"), 300)), uint16(5))
	f.Add([]byte{0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, uint16(4))
	f.Add([]byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'}, uint16(2)) // unmasked
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		const limit = 256
		whole, wholeErr := run(data, len(data), limit)
		split, splitErr := run(data, int(cut)%(len(data)+1), limit)
		if (wholeErr == nil) != (splitErr == nil) || (wholeErr != nil && wholeErr.code != splitErr.code) {
			t.Fatalf("whole: %v, split at %d: %v", wholeErr, cut, splitErr)
		}
		if !slices.Equal(whole, split) {
			t.Fatalf("whole %q != split %q", whole, split)
		}
		for _, e := range whole {
			if msg, ok := bytes.CutPrefix([]byte(e), []byte("msg:")); ok {
				if len(msg) > limit || !utf8.Valid(msg) {
					t.Fatalf("bad message delivered: %d bytes", len(msg))
				}
			}
		}
	})
}

func run(data []byte, cut, limit int) ([]string, *closeError) {
	r := &frameReader{maxMessage: int64(limit)}
	rec := &recorder{}
	for _, chunk := range [][]byte{slices.Clone(data[:cut]), slices.Clone(data[cut:])} {
		if _, err := r.consume(chunk, rec); err != nil {
			return rec.events, err
		}
	}
	return rec.events, nil
}

func BenchmarkTextFrame(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		payload := bytes.Repeat([]byte("p"), n)
		b.Run(itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				_ = TextFrame(payload)
			}
		})
	}
}

func BenchmarkReadFrames(b *testing.B) {
	// 64 typical client frames (pusher:subscribe with auth) in one read.
	frame := maskedFrame(ws.OpText, true, []byte(`{"event":"pusher:subscribe","data":{"channel":"private-thread-42","auth":"app-key:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}`))
	in := bytes.Repeat(frame, 64)
	buf := make([]byte, len(in))
	r := &frameReader{maxMessage: 64 << 10}
	sink := discardSink{}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		copy(buf, in) // the reader unmasks in place
		if _, err := r.consume(buf, sink); err != nil {
			b.Fatal(err)
		}
	}
}

type discardSink struct{}

func (discardSink) message([]byte)        {}
func (discardSink) ping([]byte)           {}
func (discardSink) pong()                 {}
func (discardSink) peerClose(int, string) {}

func itoa(n int) string { return strconv.Itoa(n) }
