// Package recorder keeps the show log (docs/protocol.md §9, docs/report.md):
// every state, event, station status and info, command and performance
// marker of the whole show, read from MQTT into a local SQLite database.
//
// The database (modernc.org/sqlite: pure Go, so the ARM builds stay
// static) is in WAL mode with synchronous=FULL: every message is committed,
// and its WAL frame fsynced, before the handler returns and the MQTT PUBACK
// goes to the broker. A committed message survives kill -9 of the recorder
// and a power cut of the machine; one not yet committed was not
// acknowledged, so the broker delivers it again (QoS 1, persistent
// session).
//
// A database that is not SQLite, fails SQLite's quick_check, belongs to
// another program, or was written by a newer cuelight is reported
// (ErrCorrupt, ErrForeign, ErrNewer), left untouched, and never recorded
// into.
package recorder

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// Errors Open reports for a database it will not record into. The file is
// left as it was.
var (
	// ErrCorrupt: the file is not a SQLite database, or fails quick_check.
	ErrCorrupt = errors.New("recorder: database is corrupt")
	// ErrNewer: the database was written by a newer cuelight (schema
	// version above SchemaVersion).
	ErrNewer = errors.New("recorder: database is from a newer version of cuelight")
	// ErrForeign: a SQLite database that is not a cuelight show log.
	ErrForeign = errors.New("recorder: not a cuelight show log")
)

// appID marks a cuelight show log (PRAGMA application_id, "cuel").
const appID = 0x6375656c

// migrations[i] takes the schema from version i to i+1. Never edit one
// that has shipped: add the next.
var migrations = []string{
	// 1: the log. id is the arrival order; at is the message's own time
	// (event at, state since, command ts, marker at) or, for status and
	// info, the time the recorder received it; digest finds redeliveries.
	`CREATE TABLE messages (
		id       INTEGER PRIMARY KEY,
		received TEXT NOT NULL,
		at       TEXT NOT NULL,
		topic    TEXT NOT NULL,
		kind     TEXT NOT NULL,
		station  TEXT NOT NULL DEFAULT '',
		channel  TEXT NOT NULL DEFAULT '',
		retained INTEGER NOT NULL DEFAULT 0,
		payload  BLOB NOT NULL,
		digest   TEXT NOT NULL
	);
	CREATE INDEX messages_at ON messages(at, id);
	CREATE INDEX messages_digest ON messages(digest);
	CREATE INDEX messages_topic ON messages(topic, id);
	CREATE INDEX messages_kind ON messages(kind, id);`,
}

// SchemaVersion is the schema this build writes (PRAGMA user_version).
var SchemaVersion = len(migrations)

// DB is an open show log. Its methods are safe for concurrent use.
type DB struct {
	db   *sql.DB
	path string
	ro   bool
}

// Message kinds, as stored.
const (
	KindState    = "state"
	KindEvent    = "event"
	KindCmd      = "cmd"
	KindStatus   = "status"
	KindInfo     = "info"
	KindMarker   = "marker"
	KindRecorder = "recorder" // the recorder's own connection: lost, connected
)

// Message is one stored message.
type Message struct {
	ID       int64
	Received time.Time
	At       time.Time
	Topic    string
	Kind     string
	Station  string
	Channel  string
	Retained bool
	Payload  []byte
}

func dsn(path string, ro bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	if ro {
		q.Add("mode", "ro")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens the show log at path for recording, creating it (and its
// schema) when the file does not exist, and migrating an older schema.
// Before anything is written, an existing file is checked read-only: see
// ErrCorrupt, ErrNewer, ErrForeign.
func Open(path string) (*DB, error) {
	if _, err := os.Stat(path); err == nil {
		if err := check(path); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("recorder: %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; readers use OpenReadOnly
	d := &DB{db: db, path: path}
	if err := d.migrate(); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// OpenReadOnly opens an existing show log for reading (reports), with the
// same checks as Open; it never writes to it.
func OpenReadOnly(path string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	if err := check(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("recorder: %s: %w", path, err)
	}
	return &DB{db: db, path: path, ro: true}, nil
}

// check opens path read-only and refuses a database we must not write to.
func check(path string) error {
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	defer db.Close()
	var id, version int64
	if err := db.QueryRow("PRAGMA application_id").Scan(&id); err != nil {
		return fmt.Errorf("%w: %s: %v (left untouched; move it away to start a new log)", ErrCorrupt, path, err)
	}
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("%w: %s: %v (left untouched; move it away to start a new log)", ErrCorrupt, path, err)
	}
	var tables int
	if err := db.QueryRow("SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return fmt.Errorf("%w: %s: %v (left untouched; move it away to start a new log)", ErrCorrupt, path, err)
	}
	switch {
	case id == 0 && version == 0 && tables == 0:
		// an empty database: ours to initialise
	case id != appID:
		return fmt.Errorf("%w: %s is a SQLite database of another program (application_id %#x); left untouched", ErrForeign, path, id)
	case version > int64(len(migrations)):
		return fmt.Errorf("%w: %s has schema version %d, this cuelight knows up to %d: upgrade cuelight; the file is left untouched", ErrNewer, path, version, len(migrations))
	}
	rows, err := db.Query("PRAGMA quick_check")
	if err != nil {
		return fmt.Errorf("%w: %s: %v (left untouched; move it away to start a new log)", ErrCorrupt, path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: %s: %v (left untouched; move it away to start a new log)", ErrCorrupt, path, err)
	}
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], "...")
		}
		return fmt.Errorf("%w: %s fails quick_check: %s (left untouched; move it away to start a new log)", ErrCorrupt, path, strings.Join(problems, "; "))
	}
	return nil
}

// migrate brings the schema to SchemaVersion, one migration per
// transaction.
func (d *DB) migrate() error {
	var mode string
	if err := d.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		return fmt.Errorf("recorder: %s: cannot use WAL mode (journal_mode %q): %v", d.path, mode, err)
	}
	for {
		var v int
		if err := d.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
			return fmt.Errorf("recorder: %s: %w", d.path, err)
		}
		if v >= len(migrations) {
			return nil
		}
		tx, err := d.db.Begin()
		if err != nil {
			return fmt.Errorf("recorder: %s: %w", d.path, err)
		}
		if _, err := tx.Exec(migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("recorder: %s: migration to schema %d: %w", d.path, v+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA application_id = %d; PRAGMA user_version = %d", appID, v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("recorder: %s: %w", d.path, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("recorder: %s: migration to schema %d: %w", d.path, v+1, err)
		}
	}
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Path is the database file.
func (d *DB) Path() string { return d.path }

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func digest(topic string, payload []byte) string {
	h := sha256.New()
	h.Write([]byte(topic))
	h.Write([]byte{0})
	h.Write(payload)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// dupWindow is how many recent messages a redelivery (MQTT dup flag) is
// compared with.
const dupWindow = 1000

// Insert stores m unless it repeats what is already stored: a retained
// message equal to the latest stored on its topic (a replay at
// (re)subscription), or a redelivery (dup) equal to one of the last
// dupWindow messages. It reports whether m was stored; m.ID is set.
func (d *DB) Insert(ctx context.Context, m *Message, dup bool) (bool, error) {
	if d.ro {
		return false, errors.New("recorder: database opened read-only")
	}
	dg := digest(m.Topic, m.Payload)
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("recorder: %w", err)
	}
	defer tx.Rollback()
	if m.Retained {
		var last string
		err := tx.QueryRowContext(ctx, "SELECT digest FROM messages WHERE topic = ? ORDER BY id DESC LIMIT 1", m.Topic).Scan(&last)
		if err == nil && last == dg {
			return false, nil
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("recorder: %w", err)
		}
	}
	if dup {
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM messages WHERE digest = ? AND id > (SELECT coalesce(max(id), 0) FROM messages) - ? LIMIT 1", dg, dupWindow).Scan(&one)
		if err == nil {
			return false, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("recorder: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO messages (received, at, topic, kind, station, channel, retained, payload, digest)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		fmtTime(m.Received), fmtTime(m.At), m.Topic, m.Kind, m.Station, m.Channel, m.Retained, m.Payload, dg)
	if err != nil {
		return false, fmt.Errorf("recorder: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("recorder: commit: %w", err)
	}
	m.ID, _ = res.LastInsertId()
	return true, nil
}

// InsertBatch stores ms in one transaction without the duplicate checks
// (synthetic logs for tests and benchmarks).
func (d *DB) InsertBatch(ctx context.Context, ms []Message) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO messages (received, at, topic, kind, station, channel, retained, payload, digest)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	defer st.Close()
	for i := range ms {
		m := &ms[i]
		if _, err := st.ExecContext(ctx, fmtTime(m.Received), fmtTime(m.At), m.Topic, m.Kind, m.Station, m.Channel, m.Retained, m.Payload, digest(m.Topic, m.Payload)); err != nil {
			return fmt.Errorf("recorder: %w", err)
		}
	}
	return tx.Commit()
}

const cols = "id, received, at, topic, kind, station, channel, retained, payload"

func scanMessages(rows *sql.Rows) ([]Message, error) {
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var rec, at string
		if err := rows.Scan(&m.ID, &rec, &at, &m.Topic, &m.Kind, &m.Station, &m.Channel, &m.Retained, &m.Payload); err != nil {
			return nil, fmt.Errorf("recorder: %w", err)
		}
		m.Received, _ = time.Parse(time.RFC3339Nano, rec)
		m.At, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	return out, nil
}

// Between returns the messages whose time is in [from, to] (to zero: no
// end), in time order, arrival order among equal times.
func (d *DB) Between(ctx context.Context, from, to time.Time) ([]Message, error) {
	q := "SELECT " + cols + " FROM messages WHERE at >= ?"
	args := []any{fmtTime(from)}
	if !to.IsZero() {
		q += " AND at <= ?"
		args = append(args, fmtTime(to))
	}
	rows, err := d.db.QueryContext(ctx, q+" ORDER BY at, id", args...)
	if err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	return scanMessages(rows)
}

// Kind returns every message of one kind, in arrival order.
func (d *DB) Kind(ctx context.Context, kind string) ([]Message, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT "+cols+" FROM messages WHERE kind = ? ORDER BY id", kind)
	if err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	return scanMessages(rows)
}

// LatestBefore returns, for each topic of the given kind, the latest
// message with a time before t (what was known when a performance began).
func (d *DB) LatestBefore(ctx context.Context, kind string, t time.Time) ([]Message, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+cols+` FROM messages WHERE id IN
		(SELECT max(id) FROM messages WHERE kind = ? AND at < ? GROUP BY topic) ORDER BY topic`, kind, fmtTime(t))
	if err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	return scanMessages(rows)
}

// Count returns how many messages are stored.
func (d *DB) Count(ctx context.Context) (int64, error) {
	var n int64
	err := d.db.QueryRowContext(ctx, "SELECT count(*) FROM messages").Scan(&n)
	return n, err
}

// All returns every message in arrival order (tests, exports).
func (d *DB) All(ctx context.Context) ([]Message, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT "+cols+" FROM messages ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	return scanMessages(rows)
}
