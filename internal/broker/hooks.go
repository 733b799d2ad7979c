package broker

import (
	"bytes"
	"log/slog"
	"net"
	"runtime"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/crypto/bcrypt"

	"github.com/cuelight/cuelight/internal/procs"
)

// policy is the access policy of docs/protocol.md §4 for one topic prefix.
//
//   - A client that gives no username is accepted only when it connects from
//     a loopback address; it may then read and write everything (it is the
//     station itself, or a tool on the same machine).
//   - A client that gives a username must give that user's password
//     (bcrypt); its role decides what it may write: booth and station may
//     write <p>/channel/+/cmd and <p>/all/cmd; station may also write
//     <p>/station/#, <p>/channel/+/state and <p>/channel/+/event; viewer
//     writes nothing. Nobody with a username writes outside those topics.
//     Everyone authenticated may read everything.
//   - A Will is a publish too: a CONNECT whose Will the client could not
//     publish itself, or whose Will is a retained command, is refused.
type policy struct {
	prefix string
	users  map[string]User
	dummy  []byte // a hash to compare against for unknown users (constant time-ish)
}

func newPolicy(prefix string, users []User) *policy {
	p := &policy{prefix: prefix, users: make(map[string]User, len(users))}
	for _, u := range users {
		p.users[u.Name] = u
		if p.dummy == nil {
			p.dummy = []byte(u.BcryptHash)
		}
	}
	return p
}

// split returns the topic levels after the prefix, or nil when topic is not
// under the prefix.
func (p *policy) split(topic string) []string {
	rest, ok := strings.CutPrefix(topic, p.prefix+"/")
	if !ok {
		return nil
	}
	return strings.Split(rest, "/")
}

// isCmd reports whether topic is <p>/channel/<ch>/cmd or <p>/all/cmd.
func (p *policy) isCmd(topic string) bool {
	l := p.split(topic)
	switch len(l) {
	case 2:
		return l[0] == "all" && l[1] == "cmd"
	case 3:
		return l[0] == "channel" && l[1] != "" && l[2] == "cmd"
	}
	return false
}

// isStationTopic reports whether topic is one a station publishes:
// <p>/station/#, <p>/channel/<ch>/state, <p>/channel/<ch>/event.
func (p *policy) isStationTopic(topic string) bool {
	if topic == p.prefix+"/station" {
		return true
	}
	l := p.split(topic)
	switch {
	case len(l) >= 2 && l[0] == "station":
		return true
	case len(l) == 3 && l[0] == "channel" && l[1] != "":
		return l[2] == "state" || l[2] == "event"
	}
	return false
}

// canWrite reports whether a user of role may publish to topic. role is ""
// for an anonymous loopback client.
func (p *policy) canWrite(role, topic string) bool {
	switch role {
	case "":
		return true
	case RoleBooth:
		return p.isCmd(topic)
	case RoleStation:
		return p.isCmd(topic) || p.isStationTopic(topic)
	}
	return false
}

// authenticate decides a CONNECT from remote with the given credentials
// and will. It returns the client's role ("" for anonymous loopback) and
// whether it is accepted, plus a reason for the log when not.
func (p *policy) authenticate(remote string, username, password []byte, will *willMsg) (role string, ok bool, why string) {
	if len(username) == 0 {
		if !isLoopbackRemote(remote) {
			return "", false, "anonymous client off loopback"
		}
		role = ""
	} else {
		u, known := p.users[string(username)]
		hash := []byte(u.BcryptHash)
		if !known {
			hash = p.dummy
		}
		if hash == nil {
			return "", false, "unknown user"
		}
		var err error
		// bcrypt computes for tens of milliseconds: a core is lent
		// meanwhile, so messages keep flowing (internal/procs).
		procs.Heavy(func() { err = bcrypt.CompareHashAndPassword(hash, password) })
		if err != nil || !known {
			return "", false, "bad username or password"
		}
		role = u.Role
	}
	if will != nil {
		if will.retain && p.isCmd(will.topic) {
			return role, false, "will is a retained command"
		}
		if !p.canWrite(role, will.topic) {
			return role, false, "will topic not writable by this user"
		}
	}
	return role, true, ""
}

// willMsg is the Will of a CONNECT.
type willMsg struct {
	topic  string
	retain bool
}

// isLoopbackRemote reports whether a client's remote address is loopback.
func isLoopbackRemote(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	host, _, _ = strings.Cut(host, "%")
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// authHook applies the policy to CONNECT and to every publish and
// subscription. It is the only auth hook: without one mochi refuses every
// CONNECT, and with more than one, any hook allowing would be enough.
type authHook struct {
	mqtt.HookBase
	p   *policy
	log *slog.Logger
}

// ID names the hook.
func (h *authHook) ID() string { return "cuelight-auth" }

// Provides lists the hook's methods.
func (h *authHook) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

// OnConnectAuthenticate accepts or refuses a CONNECT.
func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	var will *willMsg
	if pk.Connect.WillFlag {
		will = &willMsg{topic: pk.Connect.WillTopic, retain: pk.Connect.WillRetain}
	}
	_, ok, why := h.p.authenticate(cl.Net.Remote, pk.Connect.Username, pk.Connect.Password, will)
	if !ok {
		h.log.Warn("broker: connection refused", "reason", why, "remote", cl.Net.Remote,
			"username", string(pk.Connect.Username), "client", cl.ID)
	}
	return ok
}

// OnACLCheck allows every read of an accepted client and the writes its
// role permits.
func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	user := cl.Properties.Username
	if len(user) == 0 && !isLoopbackRemote(cl.Net.Remote) {
		return false // cannot happen after authenticate; refuse anyway
	}
	if !write {
		return true
	}
	role := ""
	if len(user) > 0 {
		u, ok := h.p.users[string(user)]
		if !ok {
			return false
		}
		role = u.Role
	}
	if !h.p.canWrite(role, topic) {
		h.log.Warn("broker: publish not allowed", "topic", topic, "username", string(user), "client", cl.ID)
		return false
	}
	return true
}

// cmdGuard drops every publish to a command topic that carries the retain
// flag: it is neither stored nor delivered (docs/protocol.md §4). A retained command
// would fire again at every (re)subscription. The publisher still gets its
// PUBACK.
type cmdGuard struct {
	mqtt.HookBase
	p   *policy
	log *slog.Logger
}

// ID names the hook.
func (h *cmdGuard) ID() string { return "cuelight-retained-cmd-guard" }

// Provides lists the hook's methods.
func (h *cmdGuard) Provides(b byte) bool { return b == mqtt.OnPublish }

// OnPublish ignores retained commands.
func (h *cmdGuard) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Retain && h.p.isCmd(pk.TopicName) {
		h.log.Warn("broker: dropped a retained command (commands must not be retained)",
			"topic", pk.TopicName, "client", cl.ID, "payload", string(truncate(pk.Payload, 120)))
		return pk, packets.CodeSuccessIgnore
	}
	return pk, nil
}

// handOver lets a message reach its subscribers before the broker reads
// its publisher's next packet. mochi queues a message for each subscriber
// and a goroutine per subscriber writes it out, while the publisher's
// reader goes on to the next packet. A station publishes a channel's
// state, then its event, a few microseconds apart; on few cores the reader
// took the event too before the state's writer ran, and the state reached
// desks one event later (docs/performance.md, "MQTT state at an outside
// subscriber"). After each message has been handed to its subscribers'
// queues, the reader yields the core once: the writers go first. It never
// waits: the reader carries on as soon as a core is free.
type handOver struct{ mqtt.HookBase }

// ID names the hook.
func (h *handOver) ID() string { return "cuelight-hand-over" }

// Provides lists the hook's methods.
func (h *handOver) Provides(b byte) bool { return b == mqtt.OnPublished }

// OnPublished yields once (see handOver).
func (h *handOver) OnPublished(*mqtt.Client, packets.Packet) { runtime.Gosched() }

func truncate(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return append(bytes.Clone(b[:n]), "…"...)
}
