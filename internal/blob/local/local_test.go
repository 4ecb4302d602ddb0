package local_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/blob"
	"github.com/parleyhq/parley/internal/blob/local"
	"github.com/parleyhq/parley/internal/blobtest"
)

func newStore(t testing.TB, dir string) *local.Store {
	t.Helper()
	s, err := local.Open(local.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return newStore(t, t.TempDir()) })
}

func TestContractSmallChunks(t *testing.T) {
	// Small chunks make every range test cross many chunk boundaries.
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := local.Open(local.Config{Dir: t.TempDir(), ChunkSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func BenchmarkLocal(b *testing.B) {
	blobtest.Bench(b, newStore(b, b.TempDir()))
}

const marker = "PATIENT-RASH-PHOTO-MARKER-"

func TestBytesOnDiskAreNotPlaintext(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	plain := []byte(strings.Repeat(marker, 5000))
	if _, err := s.Put(context.Background(), "enc/k", bytes.NewReader(plain), -1); err != nil {
		t.Fatal(err)
	}
	found := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(marker)) || bytes.Contains(b, []byte("RASH")) {
			t.Errorf("%s contains the plaintext marker", p)
		}
		found++
		return nil
	})
	if found < 2 { // the blob and blob.key
		t.Fatalf("walked %d files, want the blob and the key", found)
	}
	fi, err := os.Stat(filepath.Join(dir, "blob.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("blob.key: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
}

func TestKeyFileIsReusedAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	if _, err := s.Put(context.Background(), "k", strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	again := newStore(t, dir)
	if got := readAll(t, again, "k"); got != "hello" {
		t.Fatalf("after restart read %q", got)
	}
}

func TestKeyFileWithLooseModeIsRefused(t *testing.T) {
	dir := t.TempDir()
	newStore(t, dir)
	if err := os.Chmod(filepath.Join(dir, "blob.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Open(local.Config{Dir: dir}); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Fatalf("Open with a world-readable key = %v, want a mode error", err)
	}
}

func readAll(t *testing.T, s blob.Store, key string) string {
	t.Helper()
	rc, err := s.Open(context.Background(), key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readErr(s blob.Store, key string, off, n int64) error {
	rc, err := s.Open(context.Background(), key, off, n)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.ReadAll(rc)
	return err
}

func TestTamperingIsDetected(t *testing.T) {
	const size = 5000 // five 1000-byte chunks
	plain := blobtest.Bytes(1, size)
	setup := func(t *testing.T) (*local.Store, string) {
		dir := t.TempDir()
		s, err := local.Open(local.Config{Dir: dir, ChunkSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(context.Background(), "t/k", bytes.NewReader(plain), size); err != nil {
			t.Fatal(err)
		}
		return s, filepath.Join(dir, "blobs", "t", "k")
	}
	const sealed = 1016
	cases := map[string]func(b []byte) []byte{
		"flipped bit in a chunk":  func(b []byte) []byte { b[56+2*sealed+10] ^= 1; return b },
		"flipped bit in the salt": func(b []byte) []byte { b[40] ^= 1; return b },
		"last chunk dropped":      func(b []byte) []byte { return b[:len(b)-(size%1000+16)] },
		"truncated at a boundary": func(b []byte) []byte { return b[:56+3*sealed] },
		"chunk appended":          func(b []byte) []byte { return append(b, b[56:56+sealed]...) },
		"two chunks swapped": func(b []byte) []byte {
			c1 := append([]byte(nil), b[56:56+sealed]...)
			copy(b[56:], b[56+sealed:56+2*sealed])
			copy(b[56+sealed:], c1)
			return b
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			s, path := setup(t)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := readErr(s, "t/k", 0, -1); !errors.Is(err, blob.ErrCorrupt) {
				t.Fatalf("reading a damaged file = %v, want ErrCorrupt", err)
			}
		})
	}
	t.Run("file moved to another key", func(t *testing.T) {
		s, path := setup(t)
		other := filepath.Join(filepath.Dir(path), "other")
		if err := os.Rename(path, other); err != nil {
			t.Fatal(err)
		}
		if err := readErr(s, "t/other", 0, -1); !errors.Is(err, blob.ErrCorrupt) {
			t.Fatalf("reading a moved file = %v, want ErrCorrupt", err)
		}
	})
	t.Run("range read of an untouched chunk still works", func(t *testing.T) {
		s, path := setup(t)
		b, _ := os.ReadFile(path)
		b[56+4*sealed+3] ^= 1 // damage the last chunk only
		os.WriteFile(path, b, 0o600)
		rc, err := s.Open(context.Background(), "t/k", 100, 200)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, plain[100:300]) {
			t.Fatalf("range in an intact chunk: %v", err)
		}
		if err := readErr(s, "t/k", 4100, 10); !errors.Is(err, blob.ErrCorrupt) {
			t.Fatalf("range in the damaged chunk = %v, want ErrCorrupt", err)
		}
	})
}

func TestWrongKeyFails(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	if _, err := s.Put(context.Background(), "k", strings.NewReader("secret"), 6); err != nil {
		t.Fatal(err)
	}
	other, err := local.Open(local.Config{Dir: dir, Key: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if err := readErr(other, "k", 0, -1); !errors.Is(err, blob.ErrCorrupt) || !strings.Contains(err.Error(), "another master key") {
		t.Fatalf("read with the wrong key = %v, want ErrCorrupt naming the key", err)
	}
}

func TestParseKey(t *testing.T) {
	good := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	if k, err := local.ParseKey(good); err != nil || len(k) != 32 || k[31] != 31 {
		t.Fatalf("ParseKey(good) = %v, %v", k, err)
	}
	for _, bad := range []string{"", "not base64!!", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"} {
		if _, err := local.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) succeeded", bad)
		}
	}
}

func TestCrashLeavesNothingVisible(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	// A failed Put is what a crash looks like from the inside; nothing but
	// the (now removed) temporary file ever held its bytes.
	_, err := s.Put(context.Background(), "c/k", blobtest.FailAfter(1, 300_000, io.ErrUnexpectedEOF), -1)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Put = %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "blobs", ".tmp"))
	if len(entries) != 0 {
		t.Fatalf("%d temporary files left behind", len(entries))
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", "c", "k")); !os.IsNotExist(err) {
		t.Fatalf("final path exists after a failed Put: %v", err)
	}
}

func TestPutStreamsWithoutHoldingTheValue(t *testing.T) {
	s := newStore(t, t.TempDir())
	const n = 30 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := s.Put(context.Background(), "mem/k", blobtest.Data(3, n), -1); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(context.Background(), "mem/k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := blobtest.Sum(rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	runtime.ReadMemStats(&after)
	// Allocation is per chunk, not per value: 30 MB through put and read
	// must allocate far less than the value itself.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Fatalf("put+read of 30 MB allocated %d bytes", alloc)
	}
}
