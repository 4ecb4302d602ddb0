package blobtest

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/parleyhq/parley/internal/blob"
)

// Bench measures upload (Put of unknown size) and download (Open and read
// to the end) throughput for 1 MB and 20 MB values.
func Bench(b *testing.B, s blob.Store) {
	ctx := context.Background()
	for _, n := range []int64{1 << 20, 20 << 20} {
		name := fmt.Sprintf("%dMB", n>>20)
		b.Run("upload/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(n)
			for i := 0; b.Loop(); i++ {
				if _, err := s.Put(ctx, fmt.Sprintf("bench/up-%d", i%4), Data(uint64(i), n), -1); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("download/"+name, func(b *testing.B) {
			key := "bench/down-" + name
			if _, err := s.Put(ctx, key, Data(1, n), n); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 32<<10)
			b.ReportAllocs()
			b.SetBytes(n)
			for b.Loop() {
				rc, err := s.Open(ctx, key, 0, -1)
				if err != nil {
					b.Fatal(err)
				}
				m, err := io.CopyBuffer(io.Discard, rc, buf)
				rc.Close()
				if err != nil || m != n {
					b.Fatalf("read %d of %d: %v", m, n, err)
				}
			}
		})
	}
}
