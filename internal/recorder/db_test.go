package recorder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 19, 30, 0, 0, time.UTC)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "showlog.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// A new log gets the schema, WAL mode and the application id.
func TestOpenCreatesTheSchema(t *testing.T) {
	t.Parallel()
	db, path := openTemp(t)
	var v, id int64
	var mode, sync string
	if err := db.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != int64(SchemaVersion) {
		t.Errorf("user_version %d (%v), want %d", v, err, SchemaVersion)
	}
	if err := db.db.QueryRow("PRAGMA application_id").Scan(&id); err != nil || id != appID {
		t.Errorf("application_id %#x (%v)", id, err)
	}
	if err := db.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q (%v), want wal", mode, err)
	}
	// synchronous=FULL (2): every commit fsyncs the WAL (docs/report.md).
	if err := db.db.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != "2" {
		t.Errorf("synchronous %q (%v), want 2 (FULL)", sync, err)
	}
	db.Close()
	again, err := Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	again.Close()
}

// docs/report.md: a corrupt log, one of another program and one from a
// newer cuelight are reported, left untouched, and not recorded into.
func TestRefusedDatabasesAreLeftUntouched(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a database, just a text file\n"), 200), 0o644); err != nil {
		t.Fatal(err)
	}
	// A real log whose pages were damaged after its header.
	damaged := filepath.Join(dir, "damaged.db")
	{
		db, err := Open(damaged)
		if err != nil {
			t.Fatal(err)
		}
		ms := make([]Message, 2000)
		for i := range ms {
			ms[i] = Message{Received: t0, At: t0.Add(time.Duration(i) * time.Second), Topic: "cuelight/channel/fly/event", Kind: KindEvent, Payload: bytes.Repeat([]byte("x"), 200)}
		}
		if err := db.InsertBatch(context.Background(), ms); err != nil {
			t.Fatal(err)
		}
		if _, err := db.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			t.Fatal(err)
		}
		db.Close()
		b, _ := os.ReadFile(damaged)
		for i := 4096 * 3; i < len(b)-4096; i += 4096 {
			copy(b[i+100:i+900], bytes.Repeat([]byte{0xA5}, 800))
		}
		if err := os.WriteFile(damaged, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	newer := filepath.Join(dir, "newer.db")
	{
		db, err := Open(newer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.db.Exec("PRAGMA user_version = 99"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	foreign := filepath.Join(dir, "foreign.db")
	{
		db, err := sql.Open("sqlite", "file:"+foreign)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)"); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	for _, tc := range []struct {
		name, path string
		want       error
	}{
		{"not SQLite at all", garbage, ErrCorrupt},
		{"damaged pages", damaged, ErrCorrupt},
		{"newer schema", newer, ErrNewer},
		{"another program's database", foreign, ErrForeign},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := sum(t, tc.path)
			db, err := Open(tc.path)
			if err == nil {
				db.Close()
				t.Fatalf("Open accepted it")
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("Open: %v, want %v", err, tc.want)
			}
			if _, err := OpenReadOnly(tc.path); !errors.Is(err, tc.want) {
				t.Errorf("OpenReadOnly: %v, want %v", err, tc.want)
			}
			if r, err := New(nil, Options{Broker: "tcp://127.0.0.1:1"}); err == nil || r != nil {
				t.Errorf("New without a database: %v", err)
			}
			if after := sum(t, tc.path); after != before {
				t.Error("the file was changed")
			}
			t.Logf("%v", err)
		})
	}
}

// Repeats are stored once: a retained replay equal to the latest on its
// topic, a redelivery (dup) of a message already stored. A message that
// merely looks like an earlier one, delivered normally, is stored.
func TestInsertSkipsRepeats(t *testing.T) {
	t.Parallel()
	db, _ := openTemp(t)
	ctx := context.Background()
	ins := func(topic, payload string, retained, dup bool) bool {
		t.Helper()
		m := Message{Received: t0, At: t0, Topic: topic, Kind: KindStatus, Retained: retained, Payload: []byte(payload)}
		ok, err := db.Insert(ctx, &m, dup)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	steps := []struct {
		topic, payload string
		retained, dup  bool
		stored         bool
	}{
		{"p/station/a/status", "online", true, false, true},   // first sight, retained
		{"p/station/a/status", "online", true, false, false},  // replay on resubscribe
		{"p/station/a/status", "offline", false, false, true}, // live
		{"p/station/a/status", "offline", false, true, false}, // redelivered after a crash
		{"p/station/a/status", "online", true, false, true},   // retained, differs from latest
		{"p/station/a/status", "online", false, false, true},  // live and equal: still stored
		{"p/station/b/status", "online", false, true, true},   // dup flag, never seen
	}
	for i, s := range steps {
		if got := ins(s.topic, s.payload, s.retained, s.dup); got != s.stored {
			t.Errorf("step %d %+v: stored %v, want %v", i, s, got, s.stored)
		}
	}
	if n, _ := db.Count(ctx); n != 5 {
		t.Errorf("%d messages stored, want 5", n)
	}
}
