package bench

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// Every benchmark publish carries its sequence number, its send time and
// the index of the client it speaks for in its data, as a JSON object:
//
//	{"_bs":17,"_bt":1732680000123456789,"_bw":-1,"p":"xxxx"}
//
// Receivers find the fields by scanning for the keys rather than decoding
// the frame, which works whether the server sends data as an object
// (Centrifugo) or as a JSON string with escaped quotes (Pusher), and keeps
// the generator's cost per delivery low.
type stamp struct {
	Seq    int64
	SentAt int64 // Unix nanoseconds
	Writer int64 // publishing client's index, -1 for the HTTP API alone
}

// payload returns the JSON object for s, padded with "p" to about size bytes.
func payload(s stamp, size int) string {
	var b strings.Builder
	b.Grow(size + 64)
	b.WriteString(`{"_bs":`)
	b.WriteString(strconv.FormatInt(s.Seq, 10))
	b.WriteString(`,"_bt":`)
	b.WriteString(strconv.FormatInt(s.SentAt, 10))
	b.WriteString(`,"_bw":`)
	b.WriteString(strconv.FormatInt(s.Writer, 10))
	b.WriteString(`,"p":"`)
	for pad := size - b.Len() - 2; pad > 0; pad-- {
		b.WriteByte('x')
	}
	b.WriteString(`"}`)
	return b.String()
}

var (
	keySeq    = []byte(`_bs`)
	keySent   = []byte(`_bt`)
	keyWriter = []byte(`_bw`)
)

// parseStamp finds the stamp in a received frame; ok is false for frames
// that carry none.
func parseStamp(frame []byte) (s stamp, ok bool) {
	var okSeq, okSent bool
	s.Seq, okSeq = numberAfter(frame, keySeq)
	if !okSeq {
		return s, false
	}
	s.SentAt, okSent = numberAfter(frame, keySent)
	w, okW := numberAfter(frame, keyWriter)
	if !okW {
		w = -1
	}
	s.Writer = w
	return s, okSent
}

// numberAfter parses the integer after key and the quotes, backslashes
// and colon that separate them at any depth of JSON-in-JSON escaping.
func numberAfter(b, key []byte) (int64, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	j := 0
	for j < len(b) && j < 8 && (b[j] == '"' || b[j] == '\\' || b[j] == ':') {
		j++
	}
	neg := false
	if j < len(b) && b[j] == '-' {
		neg = true
		j++
	}
	start := j
	var n int64
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		n = n*10 + int64(b[j]-'0')
		j++
	}
	if j == start {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func nowNano() int64 { return time.Now().UnixNano() }
