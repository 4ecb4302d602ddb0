package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/blob"
)

// Run runs the contract suite. newStore must return an empty store that
// the test may fill; it registers its own cleanup.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	t.Run("round trip keeps every byte", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
	t.Run("range reads return exactly the requested bytes", func(t *testing.T) { testRanges(t, newStore(t)) })
	t.Run("missing keys report ErrNotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("overwrite replaces the whole value", func(t *testing.T) { testOverwrite(t, newStore(t)) })
	t.Run("delete removes and is idempotent", func(t *testing.T) { testDelete(t, newStore(t)) })
	t.Run("invalid keys are refused by every method", func(t *testing.T) { testInvalidKeys(t, newStore(t)) })
	t.Run("size mismatch stores nothing", func(t *testing.T) { testSizeMismatch(t, newStore(t)) })
	t.Run("failing reader stores nothing and keeps the old value", func(t *testing.T) { testReaderError(t, newStore(t)) })
	t.Run("cancelled context stores nothing", func(t *testing.T) { testCancelled(t, newStore(t)) })
	t.Run("30 MB streams through", func(t *testing.T) { testLarge(t, newStore(t)) })
	t.Run("concurrent puts", func(t *testing.T) { testConcurrent(t, newStore(t)) })
	t.Run("ReadSeeker serves ranges", func(t *testing.T) { testReadSeeker(t, newStore(t)) })
	t.Run("walker lists values", func(t *testing.T) { testWalk(t, newStore(t)) })
}

// put stores b under key and fails the test on error.
func put(t *testing.T, s blob.Store, key string, b []byte, size int64) {
	t.Helper()
	n, err := s.Put(context.Background(), key, bytes.NewReader(b), size)
	if err != nil {
		t.Fatalf("Put(%s, %d bytes): %v", key, len(b), err)
	}
	if n != int64(len(b)) {
		t.Fatalf("Put(%s) wrote %d, want %d", key, n, len(b))
	}
}

// read returns Open(key, offset, length) whole.
func read(t *testing.T, s blob.Store, key string, offset, length int64) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), key, offset, length)
	if err != nil {
		t.Fatalf("Open(%s, %d, %d): %v", key, offset, length, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s [%d,+%d): %v", key, offset, length, err)
	}
	return b
}

func wantAbsent(t *testing.T, s blob.Store, key string) {
	t.Helper()
	if _, err := s.Stat(context.Background(), key); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat(%s) = %v, want ErrNotFound", key, err)
	}
}

func testRoundTrip(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for i, n := range []int{0, 1, 1000, 65535, 65536, 65537, 3*65536 + 17} {
		for _, known := range []bool{true, false} {
			key := fmt.Sprintf("rt/%d-%v", n, known)
			b := Bytes(uint64(i), n)
			size := int64(-1)
			if known {
				size = int64(n)
			}
			put(t, s, key, b, size)
			info, err := s.Stat(ctx, key)
			if err != nil || info.Size != int64(n) {
				t.Fatalf("Stat(%s) = %+v, %v; want size %d", key, info, err, n)
			}
			if got := read(t, s, key, 0, -1); !bytes.Equal(got, b) {
				t.Fatalf("%s: read back %d bytes, differ from the %d put", key, len(got), n)
			}
		}
	}
}

func testRanges(t *testing.T, s blob.Store) {
	const n = 200_000
	b := Bytes(7, n)
	put(t, s, "range/v", b, n)
	cases := []struct{ off, length, wantLen int64 }{
		{0, 1, 1},
		{0, n, n},
		{0, -1, n},
		{1, 10, 10},
		{65530, 20, 20}, // crosses the local store's chunk boundary
		{65536, 65536, 65536},
		{131071, 2, 2},
		{n - 1, 1, 1},
		{n - 10, 100, 10}, // past the end is clamped
		{n - 10, -1, 10},
		{1234, -1, n - 1234},
		{n, -1, 0}, // at the end: empty, not an error
		{n, 5, 0},
		{500, 0, 0},
	}
	for _, c := range cases {
		got := read(t, s, "range/v", c.off, c.length)
		if int64(len(got)) != c.wantLen || !bytes.Equal(got, b[c.off:c.off+c.wantLen]) {
			t.Errorf("Open(%d, %d): got %d bytes (equal=%v), want %d", c.off, c.length, len(got), bytes.Equal(got, b[c.off:min(n, c.off+int64(len(got)))]), c.wantLen)
		}
	}
	for _, off := range []int64{n + 1, -1} {
		rc, err := s.Open(context.Background(), "range/v", off, -1)
		if err == nil {
			rc.Close()
		}
		if !errors.Is(err, blob.ErrInvalidRange) {
			t.Errorf("Open(offset %d) = %v, want ErrInvalidRange", off, err)
		}
	}
}

func testNotFound(t *testing.T, s blob.Store) {
	ctx := context.Background()
	wantAbsent(t, s, "nope/none")
	rc, err := s.Open(ctx, "nope/none", 0, -1)
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open(missing) = %v, want ErrNotFound", err)
	}
	rc, err = s.Open(ctx, "nope/none", 0, 0)
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open(missing, length 0) = %v, want ErrNotFound", err)
	}
}

func testOverwrite(t *testing.T, s blob.Store) {
	long, short := Bytes(1, 150_000), []byte("short value")
	put(t, s, "ow/k", long, -1)
	put(t, s, "ow/k", short, int64(len(short)))
	if got := read(t, s, "ow/k", 0, -1); !bytes.Equal(got, short) {
		t.Fatalf("after overwrite read %q (%d bytes), want %q", got[:min(len(got), 20)], len(got), short)
	}
	if info, err := s.Stat(context.Background(), "ow/k"); err != nil || info.Size != int64(len(short)) {
		t.Fatalf("Stat after overwrite = %+v, %v", info, err)
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	put(t, s, "del/k", []byte("x"), 1)
	put(t, s, "del/other", []byte("y"), 1)
	if err := s.Delete(ctx, "del/k"); err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, s, "del/k")
	if err := s.Delete(ctx, "del/k"); err != nil {
		t.Fatalf("second Delete = %v, want nil", err)
	}
	if got := read(t, s, "del/other", 0, -1); string(got) != "y" {
		t.Fatalf("neighbour damaged by Delete: %q", got)
	}
}

func testInvalidKeys(t *testing.T, s blob.Store) {
	ctx := context.Background()
	bad := []string{"", "../x", "a/../../b", "/abs", "a//b", "a/", ".hidden", "a/.tmp", "a\\b", "a b", "é", "a\x00b", strings.Repeat("k", blob.MaxKeyLen+1)}
	for _, k := range bad {
		if _, err := s.Put(ctx, k, strings.NewReader("x"), 1); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", k, err)
		}
		if rc, err := s.Open(ctx, k, 0, -1); !errors.Is(err, blob.ErrInvalidKey) {
			if err == nil {
				rc.Close()
			}
			t.Errorf("Open(%q) = %v, want ErrInvalidKey", k, err)
		}
		if _, err := s.Stat(ctx, k); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Stat(%q) = %v, want ErrInvalidKey", k, err)
		}
		if err := s.Delete(ctx, k); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
}

func testSizeMismatch(t *testing.T, s blob.Store) {
	ctx := context.Background()
	b := Bytes(3, 100)
	for _, declared := range []int64{99, 101, 0} {
		key := fmt.Sprintf("sm/%d", declared)
		if _, err := s.Put(ctx, key, bytes.NewReader(b), declared); !errors.Is(err, blob.ErrSizeMismatch) {
			t.Errorf("Put(100 bytes, size %d) = %v, want ErrSizeMismatch", declared, err)
		}
		wantAbsent(t, s, key)
	}
}

var errBroken = errors.New("client went away")

func testReaderError(t *testing.T, s blob.Store) {
	ctx := context.Background()
	old := []byte("previous value")
	// 10 MiB is past the S3 store's first multipart part, so an upload
	// that already sent parts is aborted too.
	// io.ErrUnexpectedEOF is what a truncated multipart body reports: it
	// must not pass for the end of the value.
	for i, n := range []int64{0, 70_000, 10 << 20, 70_001} {
		errBroken := errBroken
		if i == 3 {
			errBroken = io.ErrUnexpectedEOF
		}
		key := fmt.Sprintf("re/%d", n)
		put(t, s, key, old, -1)
		if _, err := s.Put(ctx, key, FailAfter(9, n, errBroken), -1); !errors.Is(err, errBroken) {
			t.Errorf("Put(failing after %d bytes) = %v, want the reader's error", n, err)
		}
		if got := read(t, s, key, 0, -1); !bytes.Equal(got, old) {
			t.Errorf("after a failed Put of %d bytes the value is %d bytes, want the old one", n, len(got))
		}
		if _, err := s.Put(ctx, key+"-new", FailAfter(9, n, errBroken), -1); !errors.Is(err, errBroken) {
			t.Errorf("Put(new key, failing) = %v", err)
		}
		wantAbsent(t, s, key+"-new")
	}
}

func testCancelled(t *testing.T, s blob.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, "cx/k", Data(1, 200_000), -1); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	wantAbsent(t, s, "cx/k")
}

func testLarge(t *testing.T, s blob.Store) {
	const n = 30 << 20
	ctx := context.Background()
	want, _, _ := Sum(Data(42, n))
	written, err := s.Put(ctx, "big/v", Data(42, n), -1)
	if err != nil || written != n {
		t.Fatalf("Put 30 MB = %d, %v", written, err)
	}
	rc, err := s.Open(ctx, "big/v", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, m, err := Sum(rc)
	rc.Close()
	if err != nil || m != n || got != want {
		t.Fatalf("read back %d bytes (err %v), checksum equal %v", m, err, got == want)
	}
	// The last 1000 bytes through a range read.
	whole := Data(42, n)
	io.CopyN(io.Discard, whole, n-1000)
	wantTail, _ := io.ReadAll(whole)
	if gotTail := read(t, s, "big/v", n-1000, -1); !bytes.Equal(gotTail, wantTail) {
		t.Fatalf("tail range of the 30 MB value differs")
	}
}

func testConcurrent(t *testing.T, s blob.Store) {
	ctx := context.Background()
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	values := make([][]byte, workers)
	for i := range workers {
		values[i] = Bytes(uint64(100+i), 70_000+i)
	}
	for i := range workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := s.Put(ctx, fmt.Sprintf("cc/own-%d", i), bytes.NewReader(values[i]), -1); err != nil {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := s.Put(ctx, "cc/shared", bytes.NewReader(values[i]), int64(len(values[i]))); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range workers {
		if got := read(t, s, fmt.Sprintf("cc/own-%d", i), 0, -1); !bytes.Equal(got, values[i]) {
			t.Fatalf("own-%d differs after concurrent puts", i)
		}
	}
	shared := read(t, s, "cc/shared", 0, -1)
	for _, v := range values {
		if bytes.Equal(shared, v) {
			return
		}
	}
	t.Fatalf("shared key holds %d bytes equal to none of the values written", len(shared))
}

func testReadSeeker(t *testing.T, s blob.Store) {
	b := Bytes(5, 140_000)
	put(t, s, "rs/v", b, -1)
	rs := blob.NewReadSeeker(context.Background(), s, "rs/v", int64(len(b)))
	defer rs.Close()
	if end, err := rs.Seek(0, io.SeekEnd); err != nil || end != int64(len(b)) {
		t.Fatalf("Seek end = %d, %v", end, err)
	}
	if _, err := rs.Seek(70_000, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 100)
	if _, err := io.ReadFull(rs, got); err != nil || !bytes.Equal(got, b[70_000:70_100]) {
		t.Fatalf("read after seek: %v, equal %v", err, bytes.Equal(got, b[70_000:70_100]))
	}
	if _, err := rs.ReadAt(got, 139_950); err != io.EOF || !bytes.Equal(got[:50], b[139_950:]) {
		t.Fatalf("ReadAt past end: %v", err)
	}
	rest, err := io.ReadAll(rs)
	if err != nil || !bytes.Equal(rest, b[70_100:]) {
		t.Fatalf("read rest: %v, %d bytes", err, len(rest))
	}
}

func testWalk(t *testing.T, s blob.Store) {
	w, ok := s.(blob.Walker)
	if !ok {
		t.Skip("store is not a blob.Walker")
	}
	put(t, s, "walk/a", []byte("aa"), -1)
	put(t, s, "walk/sub/b", []byte("bbb"), -1)
	put(t, s, "other/c", []byte("c"), -1)
	got := map[string]int64{}
	err := w.Walk(context.Background(), "walk/", func(key string, size int64, _ time.Time) error {
		got[key] = size
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["walk/a"] != 2 || got["walk/sub/b"] != 3 {
		t.Fatalf("Walk(walk/) = %v", got)
	}
}
