package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/attachapi"
	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/blob"
	"github.com/parleyhq/parley/internal/blob/local"
	"github.com/parleyhq/parley/internal/blob/s3"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/messenger"
	"github.com/parleyhq/parley/internal/upload"
)

// openAttachments opens the blob store (S3 when blob.s3_endpoint is set,
// otherwise encrypted files under PARLEY_DATA_DIR), the upload processor,
// the attachment endpoints and their janitor. Call it after the messenger
// API is mounted: its patterns are more specific than "/api/".
func (m *Main) openAttachments(ctx context.Context, mux *http.ServeMux, svc *messenger.Service, verifier *auth.Verifier) error {
	cfg := m.Config.Blob
	store, where, err := openBlobStore(ctx, m.Config)
	if err != nil {
		return fmt.Errorf("attachments: %w", err)
	}
	proc, err := upload.New(store, upload.Config{MaxBytes: cfg.MaxUploadBytes, Logger: m.Log})
	if err != nil {
		return fmt.Errorf("attachments: %w", err)
	}
	h, err := attachapi.New(attachapi.Config{
		Messenger:      svc,
		Verifier:       verifier,
		Store:          store,
		Processor:      proc,
		PresignedLinks: cfg.S3PresignedLinks,
		Quota:          messenger.UploadQuota{MaxFiles: cfg.PendingFiles, MaxBytes: cfg.PendingBytes},
		Logger:         m.Log,
	})
	if err != nil {
		return err
	}
	for _, p := range attachapi.Patterns {
		mux.Handle(p, h)
	}
	j, err := attachapi.NewJanitor(attachapi.JanitorConfig{Lifecycle: svc, Store: store, PendingTTL: cfg.PendingTTL, Logger: m.Log})
	if err != nil {
		return err
	}
	if err := j.Open(); err != nil {
		return err
	}
	m.closers = append(m.closers, func(context.Context) error { return j.Close() })
	m.Log.Info("attachments enabled", "store", where, "max_upload_bytes", proc.MaxBytes(),
		"pending_ttl", cfg.PendingTTL.String(), "presigned_links", cfg.S3PresignedLinks)
	return nil
}

// openBlobStore returns the configured store and a description of it for
// the log (never a credential).
func openBlobStore(ctx context.Context, c config.Config) (blob.Store, string, error) {
	b := c.Blob
	if b.S3Endpoint != "" {
		s, err := s3.Open(ctx, s3.Config{
			Endpoint:  b.S3Endpoint,
			Bucket:    b.S3Bucket,
			Region:    b.S3Region,
			AccessKey: b.S3AccessKey,
			SecretKey: b.S3SecretKey,
			UseSSL:    b.S3UseSSL,
			// Path-style works with every S3-compatible service; AWS still
			// accepts it, virtual-host style is not.
			PathStyle: true,
		})
		if err != nil {
			return nil, "", err
		}
		return s, "s3://" + b.S3Bucket + " at " + b.S3Endpoint, nil
	}
	var key []byte
	if strings.TrimSpace(b.Key) != "" {
		k, err := local.ParseKey(b.Key)
		if err != nil {
			return nil, "", err
		}
		key = k
	}
	s, err := local.Open(local.Config{Dir: c.DataDir, Key: key})
	if err != nil {
		return nil, "", err
	}
	return s, "local (AES-256-GCM) under the data directory", nil
}
