// Package broker runs the station's embedded MQTT broker (mochi-mqtt) in a
// supervised child process.
//
// Why a child process: mochi-mqtt v2.7.9 panics on a truncated MQTT v5
// SUBSCRIBE (mochi issue #501: SubscribeDecode reads the subscription
// options byte without a bounds check). The panic happens on mochi's
// per-connection goroutine, which does not recover, so it ends the whole
// process. In the station's own process that would take the cue path down
// with it; in a child it only restarts the broker, and the lamps keep
// following OSC throughout.
//
// The station's main calls, first thing,
//
//	if broker.IsChild() {
//		os.Exit(broker.ChildMain())
//	}
//
// and then runs a Supervisor, which starts the broker child, restarts it
// when it dies (short backoff, counted, logged) and reports readiness after
// every start. The child is the program cuelight-broker (cmd/cuelight-broker)
// when it is installed next to the station's binary, as the packages do: it
// links only mochi and this package, so it maps about 5 MB less than the
// station's binary would (docs/performance.md, "Memory"). Without it, as
// under "go run" or in tests, the station re-executes its own binary.
//
// The broker keeps nothing across a restart (no storage hook): stations
// republish their retained status, info and state on reconnect.
package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Defaults for Options.
const (
	DefaultListen        = "127.0.0.1:1883"
	DefaultTopicPrefix   = "cuelight"
	DefaultMaxClients    = 64
	DefaultMaxPacketSize = 64 << 10 // bytes
	DefaultReadyTimeout  = 10 * time.Second
)

// Roles of broker users (Options.Users).
const (
	// RoleBooth may publish commands (<p>/channel/+/cmd, <p>/all/cmd) and
	// read everything: a stage manager's console, QLab, Companion, cuectl.
	RoleBooth = "booth"
	// RoleStation may publish commands and a station's own topics
	// (<p>/station/#, <p>/channel/+/state, <p>/channel/+/event), and read
	// everything: another cuelightd connecting to this broker.
	RoleStation = "station"
	// RoleViewer may only read: dashboards, loggers, mosquitto_sub.
	RoleViewer = "viewer"
)

var roles = []string{RoleBooth, RoleStation, RoleViewer}

// Sentinel errors of Start and Options.Check.
var (
	// ErrAnonymousOffLoopback: a listener that is not on a loopback address
	// was configured without users; anonymous access is only allowed on
	// loopback.
	ErrAnonymousOffLoopback = errors.New("broker: a listener off loopback needs users (bcrypt hashes and roles): anonymous access is allowed only on loopback")
	// ErrAddrInUse: the listen address is taken, most often by a Mosquitto
	// already running on the machine.
	ErrAddrInUse = errors.New("broker: listen address in use")
	// ErrStopped: Start after Stop.
	ErrStopped = errors.New("broker: supervisor stopped")
)

// User is one broker account. BcryptHash is a bcrypt hash of the password
// ($2a$, $2b$ or $2y$, as made by HashPassword, `htpasswd -nbB`, or Python's
// bcrypt); the plain password is never stored.
type User struct {
	Name       string `json:"name"`
	BcryptHash string `json:"bcrypt_hash"`
	Role       string `json:"role"` // RoleBooth, RoleStation or RoleViewer
}

// Options configures the embedded broker. The fields with a json tag are
// sent to the child; the others are used by the Supervisor.
type Options struct {
	// Listen is the TCP listener address, default "127.0.0.1:1883".
	// Port 0 picks a free port at the first start and keeps it across
	// restarts (Supervisor.Addr tells which).
	Listen string `json:"listen"`
	// TopicPrefix is the cuelight topic prefix the ACLs and the retained
	// command guard apply to, default "cuelight".
	TopicPrefix string `json:"topic_prefix"`
	// Users are the accounts. Required when Listen is not a loopback
	// address. Anonymous clients are accepted only from loopback addresses.
	Users []User `json:"users,omitempty"`
	// MaxClients limits concurrent clients, default 64.
	MaxClients int `json:"max_clients"`
	// MaxPacketSize limits one MQTT packet in bytes, default 64 KiB; a
	// client sending a larger packet is disconnected.
	MaxPacketSize int `json:"max_packet_size"`

	// Exe is the program to run as the broker child, default
	// ChildProgram's choice for os.Executable(). Tests set it to the test
	// binary (os.Args[0]).
	Exe string `json:"-"`
	// Args are the child's arguments (after the program name).
	Args []string `json:"-"`
	// ReadyTimeout bounds the wait for a child to report ready, default 10 s.
	ReadyTimeout time.Duration `json:"-"`
}

// withDefaults fills the zero fields.
func (o Options) withDefaults() Options {
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if o.TopicPrefix == "" {
		o.TopicPrefix = DefaultTopicPrefix
	}
	o.TopicPrefix = strings.TrimSuffix(o.TopicPrefix, "/")
	if o.MaxClients <= 0 {
		o.MaxClients = DefaultMaxClients
	}
	if o.MaxPacketSize <= 0 {
		o.MaxPacketSize = DefaultMaxPacketSize
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	return o
}

// Check reports the first problem of o (after defaults): an unusable listen
// address, a listener off loopback without users (ErrAnonymousOffLoopback),
// a user without a name, a repeated name, an unknown role, or a hash that is
// not bcrypt.
func (o Options) Check() error {
	o = o.withDefaults()
	loop, err := IsLoopbackListen(o.Listen)
	if err != nil {
		return err
	}
	if !loop && len(o.Users) == 0 {
		return fmt.Errorf("%w (listen %s)", ErrAnonymousOffLoopback, o.Listen)
	}
	seen := map[string]bool{}
	for i, u := range o.Users {
		switch {
		case u.Name == "":
			return fmt.Errorf("broker: users[%d]: empty name", i)
		case seen[u.Name]:
			return fmt.Errorf("broker: users[%d]: user %q listed twice", i, u.Name)
		case !slices.Contains(roles, u.Role):
			return fmt.Errorf("broker: user %q: role %q is not one of %s", u.Name, u.Role, strings.Join(roles, ", "))
		}
		if _, err := bcrypt.Cost([]byte(u.BcryptHash)); err != nil {
			return fmt.Errorf("broker: user %q: bcrypt_hash is not a bcrypt hash ($2a$/$2b$/$2y$...): %v", u.Name, err)
		}
		seen[u.Name] = true
	}
	if o.MaxPacketSize < 128 {
		return fmt.Errorf("broker: max_packet_size %d is too small (at least 128 bytes)", o.MaxPacketSize)
	}
	return nil
}

// IsLoopbackListen reports whether addr ("host:port") listens on loopback
// only: "localhost", 127.0.0.0/8 or ::1. An empty host, 0.0.0.0, ::, any
// other address and any other host name count as off loopback.
func IsLoopbackListen(addr string) (bool, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("broker: listen address %q: %v", addr, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return false, fmt.Errorf("broker: listen address %q: bad port %q", addr, port)
	}
	if host == "localhost" {
		return true, nil
	}
	host, _, _ = strings.Cut(host, "%") // zone
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}

// HashPassword returns a bcrypt hash of password for User.BcryptHash
// (cost 10).
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("broker: %w", err)
	}
	return string(h), nil
}

// childProtocol numbers the parent–child conversation (childConfig,
// childStatus). cuelight-broker is a program of its own, so a station can
// meet one from another release; the child refuses a config whose number
// is not its own. Raise it whenever either side changes what it means.
const childProtocol = 1

// childConfig is what the parent sends the child on its stdin (one JSON line).
type childConfig struct {
	Protocol int     `json:"protocol"`
	Options  Options `json:"options"`
}

func (c childConfig) marshal() ([]byte, error) {
	b, err := json.Marshal(c)
	return append(b, '\n'), err
}

// wrapped is an error with its own message that still matches a sentinel.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// addrInUse is the error for a taken listen address, worded for the
// technician who has a Mosquitto running on the Pi.
func addrInUse(listen string) error {
	_, port, _ := net.SplitHostPort(listen)
	return &wrapped{
		msg: fmt.Sprintf("broker: port %s in use: another MQTT broker (mosquitto?) or cuelightd is on %s; stop it or change mqtt.listen (or set mqtt.broker to that broker's URL)", port, listen),
		err: ErrAddrInUse,
	}
}
