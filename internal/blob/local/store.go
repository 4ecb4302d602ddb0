package local

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/blob"
)

var (
	_ blob.Store  = (*Store)(nil)
	_ blob.Walker = (*Store)(nil)
)

// Config configures a local Store.
type Config struct {
	// Dir is the data directory (PARLEY_DATA_DIR). Values live under
	// Dir/blobs; the generated master key lives in Dir/blob.key.
	Dir string
	// Key is the 32-byte master key (see ParseKey). When nil, Open loads
	// Dir/blob.key, creating it (mode 0600) with a random key on first start.
	Key []byte
	// ChunkSize is the plaintext bytes per sealed chunk for new values;
	// 0 means DefaultChunkSize. Existing files keep the size they were
	// written with.
	ChunkSize int
}

// Store is the encrypted local-disk blob.Store.
type Store struct {
	root      string // Dir/blobs
	tmp       string // Dir/blobs/.tmp
	master    []byte
	id        [8]byte
	chunkSize int
}

// staleTemp is how old a temporary file must be before Open deletes it:
// old enough that no live Put can still own it.
const staleTemp = time.Hour

// Open prepares the directories and the master key.
func Open(cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("blob/local: Dir is required")
	}
	cs := cfg.ChunkSize
	if cs == 0 {
		cs = DefaultChunkSize
	}
	if cs < 1 || cs > maxChunkSize {
		return nil, fmt.Errorf("blob/local: ChunkSize %d out of range", cs)
	}
	s := &Store{root: filepath.Join(cfg.Dir, "blobs"), chunkSize: cs}
	s.tmp = filepath.Join(s.root, ".tmp")
	if err := os.MkdirAll(s.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("blob/local: %w", err)
	}
	switch {
	case cfg.Key != nil:
		if len(cfg.Key) != KeySize {
			return nil, fmt.Errorf("blob/local: key is %d bytes, want %d", len(cfg.Key), KeySize)
		}
		s.master = append([]byte(nil), cfg.Key...)
	default:
		k, err := loadOrCreateKey(filepath.Join(cfg.Dir, "blob.key"))
		if err != nil {
			return nil, fmt.Errorf("blob/local: %w", err)
		}
		s.master = k
	}
	s.id = keyID(s.master)
	s.removeStaleTemps()
	return s, nil
}

// Close releases nothing (files are opened per call); it exists so the
// store has the same lifecycle as every other component.
func (s *Store) Close() error { return nil }

func (s *Store) removeStaleTemps() {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
			os.Remove(filepath.Join(s.tmp, e.Name()))
		}
	}
}

func (s *Store) path(key string) (string, error) {
	if err := blob.ValidKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// Put implements blob.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	path, err := s.path(key)
	if err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return 0, fmt.Errorf("blob/local: %w", err)
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	n, err := s.writeSealed(ctx, f, key, r, size)
	if err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("blob/local: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("blob/local: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("blob/local: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return 0, fmt.Errorf("blob/local: %w", err)
	}
	done = true
	syncDir(dir)
	return n, nil
}

// syncDir makes the rename durable; failure only weakens durability after a
// power loss, never consistency, so it is not reported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// writeSealed streams r into f as sealed chunks. It reads one chunk ahead so
// it knows which chunk is the final one before sealing it.
func (s *Store) writeSealed(ctx context.Context, f *os.File, key string, r io.Reader, size int64) (int64, error) {
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return 0, err
	}
	h := newHeader(s.chunkSize, s.id, salt)
	aead, err := fileAEAD(s.master, &h)
	if err != nil {
		return 0, err
	}
	c := newCrypter(aead, &h, key)
	if _, err := f.Write(h.raw[:]); err != nil {
		return 0, fmt.Errorf("blob/local: %w", err)
	}
	cur := make([]byte, s.chunkSize)
	next := make([]byte, s.chunkSize)
	sealed := make([]byte, 0, s.chunkSize+tagSize)

	var total int64
	curN, curEOF, err := fill(r, cur)
	if err != nil {
		return 0, err
	}
	for index := int64(0); ; index++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		total += int64(curN)
		if size >= 0 && total > size {
			return 0, fmt.Errorf("%w: more than %d bytes", blob.ErrSizeMismatch, size)
		}
		nextN, nextEOF := 0, true
		if !curEOF {
			nextN, nextEOF, err = fill(r, next)
			if err != nil {
				return 0, err
			}
		}
		final := curEOF || (nextN == 0 && nextEOF)
		sealed = c.seal(sealed, cur[:curN], index, final)
		if _, err := f.Write(sealed); err != nil {
			return 0, fmt.Errorf("blob/local: %w", err)
		}
		if final {
			break
		}
		cur, next = next, cur
		curN, curEOF = nextN, nextEOF
	}
	if size >= 0 && total != size {
		return 0, fmt.Errorf("%w: got %d bytes, want %d", blob.ErrSizeMismatch, total, size)
	}
	return total, nil
}

// fill reads until buf is full or r ends; eof reports that r ended. Only
// io.EOF ends a value: io.ErrUnexpectedEOF from r (a truncated multipart
// body, say) is an error like any other, so io.ReadFull cannot be used.
func fill(r io.Reader, buf []byte) (n int, eof bool, err error) {
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, true, nil
		}
		if err != nil {
			return 0, false, err
		}
	}
	return n, false, nil
}

// openFile opens key and parses its header and layout.
func (s *Store) openFile(key string) (*os.File, header, int64, int64, error) {
	var h header
	path, err := s.path(key)
	if err != nil {
		return nil, h, 0, 0, err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, h, 0, 0, fmt.Errorf("%w: %s", blob.ErrNotFound, key)
	}
	if err != nil {
		return nil, h, 0, 0, fmt.Errorf("blob/local: %w", err)
	}
	fail := func(err error) (*os.File, header, int64, int64, error) {
		f.Close()
		return nil, h, 0, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("blob/local: %w", err))
	}
	if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("%w: %s", blob.ErrNotFound, key))
	}
	raw := make([]byte, headerSize)
	if _, err := io.ReadFull(f, raw); err != nil {
		return fail(fmt.Errorf("%w: short header", blob.ErrCorrupt))
	}
	h, err = parseHeader(raw, s.id)
	if err != nil {
		return fail(err)
	}
	chunks, plain, err := h.layout(fi.Size())
	if err != nil {
		return fail(err)
	}
	return f, h, chunks, plain, nil
}

// Stat implements blob.Store. It reads only the header.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	f, _, _, plain, err := s.openFile(key)
	if err != nil {
		return blob.Info{}, err
	}
	f.Close()
	return blob.Info{Size: plain}, nil
}

// Open implements blob.Store.
func (s *Store) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	f, h, chunks, plain, err := s.openFile(key)
	if err != nil {
		return nil, err
	}
	if offset < 0 || offset > plain {
		f.Close()
		return nil, fmt.Errorf("%w: offset %d of %d bytes", blob.ErrInvalidRange, offset, plain)
	}
	if length < 0 || length > plain-offset {
		length = plain - offset
	}
	aead, err := fileAEAD(s.master, &h)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &reader{
		ctx: ctx, f: f, h: h, c: newCrypter(aead, &h, key),
		chunks: chunks, index: offset / h.chunkSize, skip: offset % h.chunkSize, left: length,
	}, nil
}

// Delete implements blob.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	path, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob/local: %w", err)
	}
	return nil
}

// Walk implements blob.Walker.
func (s *Store) Walk(ctx context.Context, prefix string, fn func(key string, size int64, modified time.Time) error) error {
	return filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p == s.tmp {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) || blob.ValidKey(key) != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // deleted while walking
		}
		info, err := s.Stat(ctx, key)
		if errors.Is(err, blob.ErrNotFound) {
			return nil
		}
		size := int64(-1) // unreadable files are still reported so a janitor can remove them
		if err == nil {
			size = info.Size
		}
		return fn(key, size, fi.ModTime())
	})
}
