package upload_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/blob"
	"github.com/parleyhq/parley/internal/blob/s3"
	"github.com/parleyhq/parley/internal/blobtest"
	"github.com/parleyhq/parley/internal/upload"
)

// benchProcess measures the whole upload path (sniff, stream, hash, store)
// for a PDF-typed body of n bytes, and the download of the stored file.
func benchProcess(b *testing.B, s blob.Store) {
	p := newProcessor(b, s, upload.Config{})
	ctx := context.Background()
	for _, n := range []int64{1 << 20, 20 << 20} {
		b.Run(fmt.Sprintf("upload/%dMB", n>>20), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(n)
			for i := 0; b.Loop(); i++ {
				body := io.MultiReader(strings.NewReader("%PDF-1.7\n"), blobtest.Data(uint64(i), n-9))
				a, err := p.Process(ctx, body, "x.pdf")
				if err != nil {
					b.Fatal(err)
				}
				s.Delete(ctx, a.Key)
			}
		})
	}
}

func BenchmarkProcessLocal(b *testing.B) { benchProcess(b, localStore(b)) }

func BenchmarkProcessS3(b *testing.B) {
	bk := blobtest.S3Server(b).NewBucket(b)
	s, err := s3.Open(context.Background(), s3.Config{Endpoint: bk.Endpoint, Bucket: bk.Bucket, AccessKey: bk.AccessKey, SecretKey: bk.SecretKey, PathStyle: true})
	if err != nil {
		b.Fatal(err)
	}
	benchProcess(b, s)
}

// BenchmarkPhoto12MP is the cost of a phone photo: store, dimension check,
// decode, two thumbnails.
func BenchmarkPhoto12MP(b *testing.B) {
	photo := jpegBytes(b, gradient(4000, 3000))
	s := localStore(b)
	p := newProcessor(b, s, upload.Config{})
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(photo)))
	for b.Loop() {
		a, err := p.Process(ctx, bytes.NewReader(photo), "IMG.jpg")
		if err != nil || len(a.Thumbnails) != 2 {
			b.Fatal(a, err)
		}
		for _, k := range a.Keys() {
			s.Delete(ctx, k)
		}
	}
}
