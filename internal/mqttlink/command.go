package mqttlink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/cues"
)

// Limits on a command payload. They keep the duplicate-id memory bounded
// and a hostile publisher from making the station parse megabytes.
const (
	MaxCommandSize = 4096 // bytes of JSON
	MaxIDLen       = 128  // bytes of Command.ID
	DefaultTTL     = 2 * time.Second
	MaxTTL         = DuplicateWindow // a longer ttl would outlive the duplicate-id memory
	// DuplicateWindow is how long a command id is remembered: a command
	// repeating an id accepted in the last DuplicateWindow is rejected.
	DuplicateWindow = 10 * time.Minute
	// maxSeenIDs bounds the duplicate-id memory; beyond it the oldest ids are
	// forgotten early (8192 × ≤ 128 bytes: about 1.5 MB at worst).
	maxSeenIDs = 8192
)

// Sentinel errors for rejected commands. Inbound.Err wraps exactly one of
// them; Inbound.Reason is the human-readable text published in the
// "rejected" event.
var (
	// ErrRetained: the command arrived with the MQTT retain flag, i.e. it is a
	// stored message replayed by the broker, not a fresh command.
	ErrRetained = errors.New("mqttlink: retained command")
	// ErrDuplicate: the command id was already accepted within DuplicateWindow
	// (a QoS 1 redelivery or a replay).
	ErrDuplicate = errors.New("mqttlink: duplicate command id")
	// ErrStale: the command's ts is older than its ttl_ms plus the clock skew.
	ErrStale = errors.New("mqttlink: stale command")
	// ErrFuture: the command's ts is ahead of this station's clock by more than
	// the clock skew.
	ErrFuture = errors.New("mqttlink: command from the future")
	// ErrMalformed: the payload is not a valid command (bad JSON, unknown cmd,
	// missing id or ts, bad value...).
	ErrMalformed = errors.New("mqttlink: malformed command")
)

// rejection is the error of a rejected command: a sentinel plus the reason.
type rejection struct {
	kind   error
	reason string
}

func (r *rejection) Error() string { return "mqttlink: " + r.reason }
func (r *rejection) Unwrap() error { return r.kind }

func reject(kind error, format string, args ...any) *rejection {
	return &rejection{kind: kind, reason: fmt.Sprintf(format, args...)}
}

// Reason is the text of a rejected command's reason ("duplicate command id"),
// or err.Error() for an error this package did not make.
func Reason(err error) string {
	var r *rejection
	if errors.As(err, &r) {
		return r.reason
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// ParseCommand decodes and checks one command payload: strict JSON (unknown
// fields and trailing data are errors), a known cmd, an id, a ts in RFC 3339,
// a ttl_ms in 0..600000 (0 or absent means 2000), a label that keeps the
// label rule (cues.CheckLabel: at most 64 bytes, no control characters), a
// source of "", "mqtt" or "web", and, for brightness, a value above 0.0 up
// to 1.0. On error the
// returned Command holds whatever was decoded (often the id), and the error
// wraps ErrMalformed; Reason(err) says what is wrong.
// It never panics, whatever b holds.
func ParseCommand(b []byte) (Command, error) {
	var c Command
	if len(b) > MaxCommandSize {
		return c, reject(ErrMalformed, "malformed command: payload is %d bytes, at most %d", len(b), MaxCommandSize)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return c, reject(ErrMalformed, "malformed command: empty payload")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, reject(ErrMalformed, "malformed command: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return c, reject(ErrMalformed, "malformed command: data after the JSON object")
	}
	switch {
	case c.ID == "":
		return c, reject(ErrMalformed, "malformed command: missing id")
	case len(c.ID) > MaxIDLen:
		return c, reject(ErrMalformed, "malformed command: id longer than %d bytes", MaxIDLen)
	case !printable(c.ID):
		return c, reject(ErrMalformed, "malformed command: id contains control characters")
	case len(c.Via) > MaxIDLen || !printable(c.Via):
		return c, reject(ErrMalformed, "malformed command: via must be a gateway station's name")
	case c.Cmd == "":
		return c, reject(ErrMalformed, "malformed command: missing cmd")
	case c.Source != "" && c.Source != "mqtt" && c.Source != "web":
		return c, reject(ErrMalformed, "malformed command: source %s: use mqtt or web", strconv.Quote(short(c.Source)))
	case c.Cmd == CmdCallButton && c.Source != "web":
		return c, reject(ErrMalformed, "call_button comes from a wing page only (source web)")
	case c.Cmd != CmdCallButton && c.Cmd != CmdHeartbeat && !isCommandVerb(c.Cmd):
		return c, reject(ErrMalformed, "unknown cmd %s", strconv.Quote(short(c.Cmd)))
	case cues.CheckLabel(c.Label) != nil:
		return c, reject(ErrMalformed, "bad label: %v", cues.CheckLabel(c.Label))
	case c.TS == "":
		return c, reject(ErrMalformed, "malformed command: missing ts (the send time, RFC 3339)")
	case c.TTLMS < 0 || c.TTLMS > MaxTTL.Milliseconds():
		return c, reject(ErrMalformed, "malformed command: ttl_ms %d out of range 0–%d", c.TTLMS, MaxTTL.Milliseconds())
	}
	if _, err := time.Parse(time.RFC3339Nano, c.TS); err != nil {
		return c, reject(ErrMalformed, "malformed command: ts %s is not RFC 3339", strconv.Quote(short(c.TS)))
	}
	if c.Cmd == "brightness" {
		if c.Value == nil {
			return c, reject(ErrMalformed, "bad value: brightness needs a value 0.0–1.0")
		}
		if v := *c.Value; !(v > 0 && v <= 1) {
			return c, reject(ErrMalformed, "bad value: brightness %g out of range: above 0.0 up to 1.0 (a dark lamp must never mean GO)", v)
		}
	}
	return c, nil
}

// Sent is the command's send time (zero when TS does not parse).
func (c Command) Sent() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, c.TS)
	return t
}

// TTL is the command's time to live: TTLMS, or DefaultTTL when it is 0.
func (c Command) TTL() time.Duration {
	if c.TTLMS <= 0 {
		return DefaultTTL
	}
	return time.Duration(c.TTLMS) * time.Millisecond
}

// jsonProblem turns a decoding error into a short phrase for a reason.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		want := te.Type.Kind().String()
		switch want {
		case "int64":
			want = "an integer"
		case "string":
			want = "a string"
		default: // *float64
			want = "a number"
		}
		return fmt.Sprintf("%s must be %s, not %s", te.Field, want, te.Value)
	}
	if errors.As(err, &te) {
		return "payload must be a JSON object, not " + te.Value
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "invalid JSON"
	}
	// DisallowUnknownFields: `json: unknown field "lable"`.
	msg, _ := strings.CutPrefix(err.Error(), "json: ")
	return short(msg)
}

// short keeps user text in a reason to a sane length.
func short(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func printable(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// seconds formats d for a reason: "3.2 s", "2 s".
func seconds(d time.Duration) string {
	s := strconv.FormatFloat(d.Seconds(), 'f', 1, 64)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s + " s"
}

// Inbound is one command handed to the station by Link.Commands.
//
// A rejected command is still handed over, with Rejected set and Reason
// filled, so that the station publishes the "rejected" event through its
// normal event path with the channel's current seq and epoch; it must not
// act on it. Err wraps one of ErrRetained, ErrDuplicate, ErrStale,
// ErrFuture, ErrMalformed.
type Inbound struct {
	Channel  string  // the channel of <p>/channel/<ch>/cmd; "" for <p>/all/cmd
	Cmd      Command // as decoded; partial when Rejected for a malformed payload
	Rejected bool
	Reason   string // why it was rejected, as published in the "rejected" event
	Err      error  // nil when accepted
	Topic    string // the topic it arrived on
}

// validator decides whether a command is accepted. Its decisions depend
// only on the payload, the retain flag, its clock and the ids it has seen.
type validator struct {
	clock clockwork.Clock
	skew  time.Duration

	max   int // bound on remembered ids (maxSeenIDs)
	mu    sync.Mutex
	seen  map[string]time.Time // id → when it was accepted
	order []seenID             // the same ids, oldest first
	head  int                  // order[head:] is live
}

type seenID struct {
	id string
	at time.Time
}

func newValidator(clock clockwork.Clock, skew time.Duration) *validator {
	if skew < 0 {
		skew = -skew
	}
	return &validator{clock: clock, skew: skew, max: maxSeenIDs, seen: make(map[string]time.Time)}
}

// check validates one message that arrived on a command topic of channel
// ("" for all/cmd) and records the id of an accepted command.
func (v *validator) check(channel, topic string, payload []byte, retained bool) Inbound {
	in := Inbound{Channel: channel, Topic: topic}
	fail := func(err error) Inbound {
		in.Rejected, in.Err, in.Reason = true, err, Reason(err)
		return in
	}
	if retained {
		// Decode what we can so that the rejected event can carry the id.
		in.Cmd, _ = ParseCommand(payload)
		return fail(reject(ErrRetained, "retained command ignored: commands must not be retained"))
	}
	c, err := ParseCommand(payload)
	in.Cmd = c
	if err != nil {
		return fail(err)
	}
	now := v.clock.Now()

	v.mu.Lock()
	defer v.mu.Unlock()
	v.expire(now)
	if _, dup := v.seen[c.ID]; dup {
		return fail(reject(ErrDuplicate, "duplicate command id"))
	}
	age := now.Sub(c.Sent())
	if age < -v.skew {
		return fail(reject(ErrFuture, "from the future: sent %s ahead of this station's clock (allowed skew %s)", seconds(-age), seconds(v.skew)))
	}
	if age > c.TTL()+v.skew {
		return fail(reject(ErrStale, "stale: sent %s ago, ttl %s", seconds(age), seconds(c.TTL())))
	}
	v.remember(c.ID, now)
	return in
}

// expire forgets ids older than DuplicateWindow. v.mu is held.
func (v *validator) expire(now time.Time) {
	for v.head < len(v.order) && now.Sub(v.order[v.head].at) > DuplicateWindow {
		delete(v.seen, v.order[v.head].id)
		v.order[v.head] = seenID{}
		v.head++
	}
	if v.head > 0 && v.head >= len(v.order)/2 {
		v.order = append(v.order[:0], v.order[v.head:]...)
		v.head = 0
	}
}

// remember records an accepted id, forgetting the oldest beyond v.max.
// v.mu is held.
func (v *validator) remember(id string, now time.Time) {
	for len(v.order)-v.head >= v.max {
		delete(v.seen, v.order[v.head].id)
		v.order[v.head] = seenID{}
		v.head++
	}
	v.seen[id] = now
	v.order = append(v.order, seenID{id: id, at: now})
}

// remembered is the number of ids currently remembered (tests).
func (v *validator) remembered() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.seen)
}

// isCommandVerb reports whether cmd is a command verb (cues.ParseCommandVerb).
func isCommandVerb(cmd string) bool {
	_, err := cues.ParseCommandVerb(cmd)
	return err == nil
}
