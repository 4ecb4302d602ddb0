package local

import (
	"context"
	"io"
	"os"
)

// reader decrypts the chunks covering one range, one chunk at a time.
type reader struct {
	ctx    context.Context
	f      *os.File
	h      header
	c      *chunkCrypter
	chunks int64 // chunks in the file
	index  int64 // next chunk to decrypt
	skip   int64 // plaintext bytes to drop from the next chunk
	left   int64 // plaintext bytes still to deliver
	sealed []byte
	plain  []byte
	buf    []byte // decrypted bytes not yet delivered
	err    error
}

func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for len(r.buf) == 0 {
		if r.left == 0 {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			r.err = err
			return 0, err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *reader) next() error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	if r.index >= r.chunks {
		return io.ErrUnexpectedEOF
	}
	if r.sealed == nil {
		r.sealed = make([]byte, r.h.sealedChunk())
		r.plain = make([]byte, 0, r.h.chunkSize)
	}
	n, err := r.f.ReadAt(r.sealed, headerSize+r.index*r.h.sealedChunk())
	if err != nil && err != io.EOF {
		return err
	}
	out, err := r.c.open(r.plain, r.sealed[:n], r.index, r.index == r.chunks-1)
	if err != nil {
		return err
	}
	r.index++
	out = out[min(r.skip, int64(len(out))):]
	r.skip = 0
	if int64(len(out)) > r.left {
		out = out[:r.left]
	}
	r.left -= int64(len(out))
	r.buf = out
	return nil
}

func (r *reader) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	r.err = os.ErrClosed
	return err
}
