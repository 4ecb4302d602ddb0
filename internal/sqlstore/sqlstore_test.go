package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/messenger"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() messenger.Store { return sqliteFactory(t) })
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() messenger.Store { return postgresFactory(t) })
}

func sqliteFactory(t testing.TB) func() messenger.Store {
	path := filepath.Join(t.TempDir(), "parley.db")
	return func() messenger.Store {
		t.Helper()
		s, err := sqlstore.OpenSQLite(context.Background(), path, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// postgresURL is the test server; PARLEY_TEST_POSTGRES overrides it, and
// "off" skips the PostgreSQL runs.
func postgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("PARLEY_TEST_POSTGRES")
	switch u {
	case "off":
		t.Skip("PostgreSQL tests disabled by PARLEY_TEST_POSTGRES=off")
	case "":
		u = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	return u
}

// postgresFactory gives each test its own schema, dropped afterwards.
func postgresFactory(t testing.TB) func() messenger.Store {
	t.Helper()
	base := postgresURL(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := "t_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_", " ", "_", "=", "_").Replace(t.Name()))
	if len(schema) > 50 {
		schema = schema[:50]
	}
	schema += "_" + randSuffix()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema (is PostgreSQL up? set PARLEY_TEST_POSTGRES=off to skip): %v", err)
	}
	t.Cleanup(func() { admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	url := base + sep + "search_path=" + schema
	return func() messenger.Store {
		t.Helper()
		s, err := sqlstore.OpenPostgres(context.Background(), url, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// TestSyncNowBelowRunningTransaction (PostgreSQL): a change whose
// transaction is still open when a client asks for "now" commits below
// nothing the client was told it had seen, so following the head cursor
// returns it once it commits.
func TestSyncNowBelowRunningTransaction(t *testing.T) {
	store := postgresFactory(t)()
	svc, threads := openService(t, store, messenger.Config{}, 1)
	ctx := context.Background()
	pat, doc := testPatient, testProvider
	open, err := store.(*sqlstore.Store).DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Rollback()
	if _, err := open.ExecContext(ctx, `INSERT INTO changes (thread_id, kind, user_id, seq, at) VALUES ($1, $2, $3, 7, 0)`,
		threads[0], messenger.ChangeMessageRead, pat.UserID); err != nil {
		t.Fatal(err)
	}
	head, err := svc.Sync(ctx, doc, messenger.SyncNow, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := open.Commit(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := svc.Sync(ctx, doc, head.Cursor, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range p.Changes {
			if c.Kind == messenger.ChangeMessageRead && c.Receipt != nil && c.Receipt.Seq == 7 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the change committed after since=now never came: %+v", p.Changes)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an event
	}
}
