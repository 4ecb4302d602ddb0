package s3_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/blob"
	"github.com/parleyhq/parley/internal/blob/s3"
	"github.com/parleyhq/parley/internal/blobtest"
)

func open(t testing.TB, b blobtest.S3, prefix string) *s3.Store {
	t.Helper()
	s, err := s3.Open(context.Background(), s3.Config{
		Endpoint: b.Endpoint, Bucket: b.Bucket, AccessKey: b.AccessKey, SecretKey: b.SecretKey,
		PathStyle: true, Prefix: prefix,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	gw := blobtest.S3Server(t)
	blobtest.Run(t, func(t *testing.T) blob.Store { return open(t, gw.NewBucket(t), "") })
}

func TestContractWithPrefix(t *testing.T) {
	gw := blobtest.S3Server(t)
	blobtest.Run(t, func(t *testing.T) blob.Store { return open(t, gw.NewBucket(t), "tenant-a/") })
}

func BenchmarkS3(b *testing.B) {
	gw := blobtest.S3Server(b)
	blobtest.Bench(b, open(b, gw.NewBucket(b), ""))
}

func TestOpenRejectsBadConfig(t *testing.T) {
	ctx := context.Background()
	if _, err := s3.Open(ctx, s3.Config{}); err == nil || !strings.Contains(err.Error(), "Endpoint") || !strings.Contains(err.Error(), "Bucket") {
		t.Fatalf("Open(empty) = %v, want every problem named", err)
	}
	gw := blobtest.S3Server(t)
	b := gw.NewBucket(t)
	_, err := s3.Open(ctx, s3.Config{Endpoint: b.Endpoint, Bucket: "no-such-bucket", AccessKey: b.AccessKey, SecretKey: b.SecretKey, PathStyle: true})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Open(missing bucket) = %v", err)
	}
}

func TestPresignGet(t *testing.T) {
	gw := blobtest.S3Server(t)
	s := open(t, gw.NewBucket(t), "")
	ctx := context.Background()
	body := []byte("%PDF-1.7 lab results")
	if _, err := s.Put(ctx, "p/k", bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	var p blob.Presigner = s
	u, err := p.PresignGet(ctx, "p/k", time.Minute, "Résultats labo.pdf", "application/pdf")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Fatalf("GET presigned: %d %q", resp.StatusCode, got)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, "R%C3%A9sultats") {
		t.Errorf("Content-Disposition = %q", cd)
	}
	// Without the signature the object is not readable.
	plain, err := http.Get(strings.Split(u, "?")[0])
	if err != nil {
		t.Fatal(err)
	}
	plain.Body.Close()
	if plain.StatusCode == 200 {
		t.Fatal("object readable without a signature")
	}
}
