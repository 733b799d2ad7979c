package broker

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// sessionGuard repairs a race in mochi v2.7.9's handling of a client that
// reconnects with the same client id while its old connection is still
// being torn down (a station's link after a network blip): the old
// connection's cleanup checks IsTakenOver before the new connection has
// marked it, and then removes the client id from the server's client map
// (Clients.Delete by id) and its subscriptions from the topic index
// (Topics.Unsubscribe by id), which by then belong to the new connection.
// The new client stays connected but receives nothing: a station that
// looks online and never gets its commands.
//
// The guard remembers which client each connection carries. When a new
// session is established, and again when a connection has fully ended
// (guardedTCP calls connClosed after mochi's per-connection handler
// returned, cleanup included) while a newer client with the same id is
// live, it puts that client back in the map and its subscriptions back in
// the index. Both operations are idempotent.
type sessionGuard struct {
	mqtt.HookBase
	srv *mqtt.Server
	log *slog.Logger

	mu     sync.Mutex
	byConn map[net.Conn]*mqtt.Client
	byID   map[string]*mqtt.Client // the latest client of each id
}

func newSessionGuard(srv *mqtt.Server, log *slog.Logger) *sessionGuard {
	return &sessionGuard{srv: srv, log: log, byConn: map[net.Conn]*mqtt.Client{}, byID: map[string]*mqtt.Client{}}
}

// ID names the hook.
func (g *sessionGuard) ID() string { return "cuelight-session-guard" }

// Provides lists the hook's methods.
func (g *sessionGuard) Provides(b byte) bool { return b == mqtt.OnSessionEstablished }

// OnSessionEstablished records the connection's client. The old
// connection's cleanup may already have removed it from the map (between
// mochi's Clients.Add and this call): then it is put back at once.
func (g *sessionGuard) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	if cl.Net.Conn == nil {
		return
	}
	g.mu.Lock()
	g.byConn[cl.Net.Conn] = cl
	g.byID[cl.ID] = cl
	g.mu.Unlock()
	if c, ok := g.srv.Clients.Get(cl.ID); !ok || c != cl {
		g.repair(cl)
	}
}

// connClosed runs after mochi finished with connection c.
func (g *sessionGuard) connClosed(c net.Conn) {
	g.mu.Lock()
	old, ok := g.byConn[c]
	delete(g.byConn, c)
	if !ok {
		g.mu.Unlock()
		return
	}
	cur := g.byID[old.ID]
	if cur == old {
		delete(g.byID, old.ID)
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	if cur == nil || cur.Closed() {
		return
	}
	g.repair(cur)
}

// repair makes sure cur is the client of its id and holds its subscriptions.
func (g *sessionGuard) repair(cur *mqtt.Client) {
	fixed := false
	if c, ok := g.srv.Clients.Get(cur.ID); !ok || c != cur {
		g.srv.Clients.Add(cur)
		fixed = true
	}
	for _, sub := range cur.State.Subscriptions.GetAll() {
		if g.srv.Topics.Subscribe(cur.ID, sub) {
			fixed = true
		}
	}
	if fixed {
		g.log.Warn("broker: repaired the session of a client that reconnected while its old connection was closing (mochi takeover race)", "client", cur.ID)
	}
}

// guardedTCP is mochi's TCP listener that tells the session guard when a
// connection has been completely handled.
type guardedTCP struct {
	*listeners.TCP
	guard   *sessionGuard
	closing *atomic.Bool // set when the broker is being stopped
}

// Serve serves connections like listeners.TCP, then reports each end.
// A connection that ends because the broker closed it, or while the
// broker stops (a clean stop or a reload), is no warning: mochi would log
// "use of closed network connection" (or EOF) for every client still
// connected.
func (l *guardedTCP) Serve(establish listeners.EstablishFn) {
	l.TCP.Serve(func(id string, c net.Conn) error {
		err := establish(id, c)
		l.guard.connClosed(c)
		if err != nil && (errors.Is(err, net.ErrClosed) || l.closing.Load()) {
			l.guard.log.Debug("broker: connection closed by the broker", "remote", c.RemoteAddr().String())
			return nil
		}
		return err
	})
}
