package attachapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/attachapi"
	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/blob"
	"github.com/parleyhq/parley/internal/blob/local"
	"github.com/parleyhq/parley/internal/blob/s3"
	"github.com/parleyhq/parley/internal/blobtest"
	"github.com/parleyhq/parley/internal/messenger"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/upload"
)

var testSecret = []byte("attachapi-test-secret-0123456789abcdef")

// storeMakers returns both real stores. The S3 one starts one versitygw for
// the calling (parent) test and a fresh bucket per call.
func storeMakers(t *testing.T) map[string]func(t *testing.T) blob.Store {
	var (
		once sync.Once
		gw   *blobtest.S3Gateway
	)
	return map[string]func(t *testing.T) blob.Store{
		"local": func(t *testing.T) blob.Store {
			s, err := local.Open(local.Config{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"s3": func(sub *testing.T) blob.Store {
			once.Do(func() { gw = blobtest.S3Server(t) }) // the parent owns the process
			if gw == nil {
				sub.Skip("no S3 gateway")
			}
			b := gw.NewBucket(sub)
			s, err := s3.Open(context.Background(), s3.Config{Endpoint: b.Endpoint, Bucket: b.Bucket,
				AccessKey: b.AccessKey, SecretKey: b.SecretKey, PathStyle: true})
			if err != nil {
				sub.Fatal(err)
			}
			return s
		},
	}
}

// forEachStore runs fn as a subtest per store, in a fixed order.
func forEachStore(t *testing.T, fn func(t *testing.T, bs blob.Store)) {
	makers := storeMakers(t)
	for _, name := range []string{"local", "s3"} {
		t.Run(name, func(t *testing.T) { fn(t, makers[name](t)) })
	}
}

// clock is the injected time of the messenger and the janitor.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recorder stands where the real-time engine would and keeps what the
// messenger's relay published.
type recorder struct {
	mu     sync.Mutex
	events []published
}

type published struct {
	Channels []string
	Event    string
	Data     []byte
}

func (r *recorder) Publish(_ context.Context, channels []string, event string, data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, published{append([]string(nil), channels...), event, append([]byte(nil), data...)})
	return nil
}

func (r *recorder) waitFor(t *testing.T, what string, pred func(published) bool) published {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		evs := append([]published(nil), r.events...)
		r.mu.Unlock()
		for _, e := range evs {
			if pred(e) {
				return e
			}
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
	t.Fatalf("timed out waiting for %s", what)
	return published{}
}

type envOptions struct {
	upload  upload.Config
	quota   messenger.UploadQuota
	presign bool
	// postgres runs the messenger on PostgreSQL (a fresh schema) instead
	// of SQLite.
	postgres bool
}

// env is the messenger (real SQLite store and service), its HTTP API and
// the attachment handlers, mounted as cmd/parley mounts them.
type env struct {
	t       *testing.T
	url     string
	blobs   blob.Store
	db      *sqlstore.Store
	svc     *messenger.Service
	clock   *clock
	rec     *recorder
	janitor *attachapi.Janitor
}

func newEnv(t *testing.T, bs blob.Store, opt envOptions) *env {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var (
		db  *sqlstore.Store
		err error
	)
	if opt.postgres {
		db, err = sqlstore.OpenPostgres(ctx, postgresSchema(t), sqlstore.Options{Logger: log})
	} else {
		db, err = sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "parley.db"), sqlstore.Options{Logger: log})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	rec := &recorder{}
	svc := messenger.NewService(db, messenger.Config{Publisher: rec, Now: clk.Now, Logger: log, RelayPoll: 20 * time.Millisecond})
	if err := svc.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	verifier, err := auth.New(auth.Config{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.New(api.Config{Messenger: svc, Verifier: verifier, AppKey: "k", AppSecret: "s", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	opt.upload.Logger = log
	proc, err := upload.New(bs, opt.upload)
	if err != nil {
		t.Fatal(err)
	}
	h, err := attachapi.New(attachapi.Config{Messenger: svc, Verifier: verifier, Store: bs, Processor: proc,
		Quota: opt.quota, PresignedLinks: opt.presign, ThumbnailSizes: opt.upload.ThumbnailSizes, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	j, err := attachapi.NewJanitor(attachapi.JanitorConfig{Lifecycle: svc, Store: bs, Now: clk.Now, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", a)
	for _, p := range attachapi.Patterns {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, url: srv.URL, blobs: bs, db: db, svc: svc, clock: clk, rec: rec, janitor: j}
}

func token(t *testing.T, user string, role auth.Role) string {
	t.Helper()
	tok, err := auth.Issue(testSecret, user, role, user+" name", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// resp is a finished HTTP exchange.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(method, path, tok string, body io.Reader, hdr map[string]string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, b}
}

func (e *env) json(method, path, tok string, v any) resp {
	e.t.Helper()
	b, _ := json.Marshal(v)
	return e.do(method, path, tok, bytes.NewReader(b), map[string]string{"Content-Type": "application/json"})
}

// multipartBody builds a form with the file in field "file", declared with
// the given (untrusted) name and type.
func multipartBody(t testing.TB, field, name, ctype string, data []byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	hdr := textproto.MIMEHeader{}
	hdr.Set("Content-Disposition", `form-data; name="`+field+`"; filename="`+name+`"`)
	hdr.Set("Content-Type", ctype)
	pw, err := mw.CreatePart(hdr)
	if err != nil {
		t.Fatal(err)
	}
	pw.Write(data)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func (e *env) upload(tok, name, ctype string, data []byte) resp {
	e.t.Helper()
	body, ct := multipartBody(e.t, "file", name, ctype, data)
	return e.do("POST", "/api/v1/attachments", tok, body, map[string]string{"Content-Type": ct})
}

// uploaded is the upload response.
type uploaded struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Thumbnails  []struct {
		Size, Width, Height int
	} `json:"thumbnails"`
}

func (e *env) mustUpload(tok, name, ctype string, data []byte) uploaded {
	e.t.Helper()
	r := e.upload(tok, name, ctype, data)
	if r.status != http.StatusCreated {
		e.t.Fatalf("upload %s: %d %s", name, r.status, r.body)
	}
	var u uploaded
	if err := json.Unmarshal(r.body, &u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// keys lists every blob in the store.
func (e *env) keys() []string {
	e.t.Helper()
	var out []string
	err := e.blobs.(blob.Walker).Walk(context.Background(), "", func(k string, _ int64, _ time.Time) error {
		out = append(out, k)
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func errorCode(t testing.TB, body []byte) string {
	t.Helper()
	var b struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("not an error body: %s", body)
	}
	return b.Error.Code
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// photo is an opaque w×h PNG with varied pixels (so it does not compress
// to nothing).
func photo(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x*7 + y), uint8(y * 5), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pdf is a small but well-formed-looking PDF of about n bytes.
func pdf(n int) []byte {
	b := []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n")
	for len(b) < n-6 {
		b = append(b, "% lab result padding line 0123456789\n"...)
	}
	return append(b, "%%EOF\n"...)
}

// elf is the start of a Linux executable.
func elf() []byte {
	b := append([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0}, make([]byte, 200)...)
	return b
}

// setupThread makes a patient and a provider share a thread and returns
// its id. The provider is seen first so the patient may name them.
func (e *env) setupThread(patientTok, providerTok, providerID string) string {
	e.t.Helper()
	if r := e.do("GET", "/api/v1/me", providerTok, nil, nil); r.status != 200 {
		e.t.Fatalf("me: %d %s", r.status, r.body)
	}
	r := e.json("POST", "/api/v1/threads", patientTok, map[string]any{"participants": []map[string]string{{"id": providerID}}})
	if r.status != http.StatusCreated {
		e.t.Fatalf("create thread: %d %s", r.status, r.body)
	}
	var th struct{ ID string }
	json.Unmarshal(r.body, &th)
	return th.ID
}

// postgresSchema returns a URL whose search_path is a fresh schema, dropped
// after the test (PARLEY_TEST_POSTGRES overrides the URL; "off" skips).
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("PARLEY_TEST_POSTGRES")
	switch base {
	case "off":
		t.Skip("PostgreSQL tests disabled by PARLEY_TEST_POSTGRES=off")
	case "":
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [6]byte
	rand.Read(b[:])
	schema := "attachapi_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema (is PostgreSQL up? PARLEY_TEST_POSTGRES=off skips): %v", err)
	}
	t.Cleanup(func() { admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}
