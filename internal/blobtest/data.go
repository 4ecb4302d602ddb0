package blobtest

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
)

// Data returns a reader of n pseudo-random bytes determined by seed. It
// holds nothing but a generator, so tests can stream tens of megabytes
// without allocating them.
func Data(seed uint64, n int64) io.Reader {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return io.LimitReader(rand.NewChaCha8(s), n)
}

// Bytes returns the first n bytes of Data(seed, n) as a slice.
func Bytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(Data(seed, int64(n)), b); err != nil {
		panic(err)
	}
	return b
}

// Sum returns the SHA-256 of everything r delivers and its length.
func Sum(r io.Reader) ([32]byte, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, n, err
}

// errReader delivers n bytes of data and then fails with err.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

// FailAfter returns a reader that yields n bytes of Data(seed, n) and then
// fails with err instead of io.EOF, as a broken upload would.
func FailAfter(seed uint64, n int64, err error) io.Reader {
	return &errReader{r: Data(seed, n), err: err}
}
