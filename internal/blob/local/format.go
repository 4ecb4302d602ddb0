package local

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/parleyhq/parley/internal/blob"
)

const (
	magic      = "PRLYBLOB"
	version    = 1
	headerSize = 56
	saltSize   = 32
	tagSize    = 16
	nonceSize  = 12

	// DefaultChunkSize is the plaintext size of one sealed chunk: large
	// enough that the 16-byte tag costs nothing, small enough that a Range
	// read of a few bytes decrypts little.
	DefaultChunkSize = 64 << 10
	maxChunkSize     = 16 << 20
)

// header is the parsed fixed-size file header.
type header struct {
	raw       [headerSize]byte
	chunkSize int64
}

func keyID(master []byte) [8]byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("parley blob key id"))
	var id [8]byte
	copy(id[:], m.Sum(nil))
	return id
}

func newHeader(chunkSize int, id [8]byte, salt []byte) header {
	var h header
	copy(h.raw[0:8], magic)
	h.raw[8] = version
	binary.BigEndian.PutUint32(h.raw[12:16], uint32(chunkSize))
	copy(h.raw[16:24], id[:])
	copy(h.raw[24:56], salt)
	h.chunkSize = int64(chunkSize)
	return h
}

func parseHeader(raw []byte, id [8]byte) (header, error) {
	var h header
	if len(raw) != headerSize || string(raw[0:8]) != magic {
		return h, fmt.Errorf("%w: not a Parley blob file", blob.ErrCorrupt)
	}
	if raw[8] != version {
		return h, fmt.Errorf("%w: unknown format version %d", blob.ErrCorrupt, raw[8])
	}
	cs := binary.BigEndian.Uint32(raw[12:16])
	if cs == 0 || cs > maxChunkSize {
		return h, fmt.Errorf("%w: chunk size %d", blob.ErrCorrupt, cs)
	}
	if !hmac.Equal(raw[16:24], id[:]) {
		return h, fmt.Errorf("%w: encrypted under another master key", blob.ErrCorrupt)
	}
	copy(h.raw[:], raw)
	h.chunkSize = int64(cs)
	return h, nil
}

func (h *header) salt() []byte { return h.raw[24:56] }

// sealedChunk is the on-disk size of a full chunk.
func (h *header) sealedChunk() int64 { return h.chunkSize + tagSize }

// layout derives the number of chunks and the plaintext size from the file
// size; it rejects sizes no writer could have produced.
func (h *header) layout(fileSize int64) (chunks, plain int64, err error) {
	body := fileSize - headerSize
	if body < tagSize {
		return 0, 0, fmt.Errorf("%w: truncated", blob.ErrCorrupt)
	}
	full := h.sealedChunk()
	chunks = (body + full - 1) / full
	if rem := body % full; rem != 0 && rem < tagSize {
		return 0, 0, fmt.Errorf("%w: truncated chunk", blob.ErrCorrupt)
	}
	return chunks, body - chunks*tagSize, nil
}

// aead derives the file's own key from the master key and the salt.
func fileAEAD(master []byte, h *header) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, master, h.salt(), "parley blob v1", KeySize)
	if err != nil {
		return nil, err
	}
	c, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(c)
}

// chunkCrypter seals and opens the chunks of one file.
type chunkCrypter struct {
	aead  cipher.AEAD
	nonce [nonceSize]byte
	ad    []byte // header || blob key || final flag
}

func newCrypter(aead cipher.AEAD, h *header, key string) *chunkCrypter {
	ad := make([]byte, 0, headerSize+len(key)+1)
	ad = append(ad, h.raw[:]...)
	ad = append(ad, key...)
	ad = append(ad, 0)
	return &chunkCrypter{aead: aead, ad: ad}
}

func (c *chunkCrypter) set(index int64, final bool) {
	binary.BigEndian.PutUint64(c.nonce[4:], uint64(index))
	c.ad[len(c.ad)-1] = 0
	if final {
		c.ad[len(c.ad)-1] = 1
	}
}

func (c *chunkCrypter) seal(dst, plain []byte, index int64, final bool) []byte {
	c.set(index, final)
	return c.aead.Seal(dst[:0], c.nonce[:], plain, c.ad)
}

func (c *chunkCrypter) open(dst, sealed []byte, index int64, final bool) ([]byte, error) {
	c.set(index, final)
	out, err := c.aead.Open(dst[:0], c.nonce[:], sealed, c.ad)
	if err != nil {
		return nil, fmt.Errorf("%w: chunk %d fails authentication", blob.ErrCorrupt, index)
	}
	return out, nil
}
