package mqttlink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/internal/broker"
	"github.com/cuelight/cuelight/internal/testkit"
)

// The test binary is also the embedded broker's child process.
func TestMain(m *testing.M) {
	if broker.IsChild() {
		os.Exit(broker.ChildMain())
	}
	// Children built with -race would sleep 1 s at exit.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	os.Exit(m.Run())
}

// wait bounds every wait for an event in these tests: generous, because
// they wait on events, never on speed.
const wait = 10 * time.Second

// embedded starts the station's embedded broker (a supervised child
// process, as in production) and returns its address.
func embedded(t *testing.T) string {
	t.Helper()
	s := &broker.Supervisor{Logger: testLogger(t).With("part", "broker")}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Start(ctx, broker.Options{Listen: "127.0.0.1:0", Exe: os.Args[0]}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s.Addr()
}

// testLogger logs through t until the test ends.

// proxy is a TCP relay between the link and a broker that a test can cut:
// kill drops every connection abruptly (the broker sees no DISCONNECT, so
// it publishes the Will), setUp(false) also refuses new ones.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	up     bool
	conns  map[net.Conn]bool
}

func newProxy(t *testing.T, target string, up bool) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, up: up, conns: map[net.Conn]bool{}}
	t.Cleanup(func() {
		ln.Close()
		p.kill()
	})
	go p.accept()
	return p
}

func (p *proxy) url() string { return "tcp://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		up := p.up
		p.mu.Unlock()
		if !up {
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[u] = true, true
		p.mu.Unlock()
		relay := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		go relay(u, c)
		go relay(c, u)
	}
}

// kill closes every relayed connection, both sides.
func (p *proxy) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *proxy) setUp(up bool) {
	p.mu.Lock()
	p.up = up
	p.mu.Unlock()
	if !up {
		p.kill()
	}
}

// msg is one message a watcher received.
type msg struct {
	topic    string
	payload  string
	retained bool
	qos      byte
}

// watcher is an independent MQTT client subscribed to a filter.
type watcher struct {
	c    paho.Client
	msgs chan msg
}

func watch(t *testing.T, addr, filter string) *watcher {
	t.Helper()
	w := &watcher{msgs: make(chan msg, 4096)}
	id := fmt.Sprintf("watch-%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
	probe := "test-probe/" + id
	probed := make(chan struct{}, 1)
	h := func(_ paho.Client, m paho.Message) {
		if m.Topic() == probe {
			select {
			case probed <- struct{}{}:
			default:
			}
			return
		}
		select {
		case w.msgs <- msg{m.Topic(), string(m.Payload()), m.Retained(), m.Qos()}:
		default:
			t.Errorf("watcher buffer full")
		}
	}
	subscribed := make(chan struct{}, 8)
	o := paho.NewClientOptions().AddBroker(addr).SetClientID(id).
		SetAutoReconnect(true).SetMaxReconnectInterval(time.Second).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetDefaultPublishHandler(h).
		SetOnConnectHandler(func(c paho.Client) {
			if tok := c.Subscribe(filter, 1, h); tok.WaitTimeout(wait) && tok.Error() == nil {
				subscribed <- struct{}{}
			}
		})
	w.c = paho.NewClient(o)
	w.c.Connect()
	t.Cleanup(func() { w.c.Disconnect(20) })
	select {
	case <-subscribed:
	case <-time.After(wait):
		t.Fatalf("watcher on %s: not subscribed", addr)
	}

	// A broker may send the retained messages of a subscription after its
	// SUBACK (mochi does), so a message published right after could arrive
	// twice, live and retained. To know they have all been sent, the
	// watcher subscribes to a probe retained beforehand: one client's
	// SUBSCRIBEs are handled in order, so when the probe arrives the
	// retained messages of the first subscription are all in. (mochi
	// v2.7.9 refuses a SUBSCRIBE whose packet id equals one of its own
	// in-flight messages to the client, code 0x91, mixing up the two
	// directions' ids: retried.)
	send(t, publisher(t, addr), probe, true, "p")
	deadline := time.Now().Add(wait)
	for {
		tok := w.c.Subscribe(probe, 1, h)
		if tok.WaitTimeout(wait) && tok.Error() == nil && tok.(*paho.SubscribeToken).Result()[probe] < 0x80 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("watcher on %s: probe subscription refused", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-probed:
	case <-time.After(wait):
		t.Fatalf("watcher on %s: the retained probe never arrived", addr)
	}
	return w
}

// expect reads messages until one on topic satisfies ok (nil: any),
// skipping others, and fails the test after the deadline.
func (w *watcher) expect(t *testing.T, topic string, ok func(msg) bool) msg {
	t.Helper()
	deadline := time.After(wait)
	var skipped []string
	for {
		select {
		case m := <-w.msgs:
			if m.topic == topic && (ok == nil || ok(m)) {
				return m
			}
			skipped = append(skipped, m.topic+" "+m.payload)
		case <-deadline:
			t.Fatalf("no message on %s within %s; skipped:\n%s", topic, wait, strings.Join(skipped, "\n"))
			return msg{}
		}
	}
}

// next returns the next message on topic, skipping other topics.
func (w *watcher) next(t *testing.T, topic string) msg { t.Helper(); return w.expect(t, topic, nil) }

func payloadIs(s string) func(msg) bool { return func(m msg) bool { return m.payload == s } }

// publisher is a plain MQTT client for sending commands.
func publisher(t *testing.T, addr string) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(addr).SetClientID(fmt.Sprintf("pub-%s-%d", t.Name(), time.Now().UnixNano())).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(20) })
	return c
}

func send(t *testing.T, c paho.Client, topic string, retain bool, payload string) {
	t.Helper()
	tok := c.Publish(topic, 1, retain, payload)
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// station is a fake station: states and info for Snapshot.
type station struct {
	mu     sync.Mutex
	info   Info
	states map[string]State
	order  []string
}

func newStation(name string, channels ...string) *station {
	s := &station{
		info:   Info{Version: "test", Epoch: "ep1", Started: "2025-03-01T20:00:00.000Z", Channels: channels, Link: "none"},
		states: map[string]State{},
		order:  channels,
	}
	for _, ch := range channels {
		s.states[ch] = State{Channel: ch, Station: name, State: "off", Since: "2025-03-01T20:00:00.000Z", Seq: 1, Epoch: "ep1"}
	}
	return s
}

func (s *station) snapshot() (Info, []State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]State, 0, len(s.order))
	for _, ch := range s.order {
		out = append(out, s.states[ch])
	}
	return s.info, out
}

// set changes a channel's state as the cue engine would, and returns it.
func (s *station) set(ch, state, label string) State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.states[ch]
	st.State, st.Label, st.Seq = state, label, st.Seq+1
	s.states[ch] = st
	return st
}

// startLink starts a link for station st against broker URL u.
func startLink(t *testing.T, u string, st *station, name string, mod func(*Options)) *Link {
	t.Helper()
	o := Options{
		Broker:        u,
		Station:       name,
		Show:          "test show",
		Channels:      st.order,
		Snapshot:      st.snapshot,
		Logger:        testLogger(t).With("part", "link"),
		Clock:         clockwork.NewFakeClockAt(t0),
		ClockSkew:     500 * time.Millisecond,
		RetryInterval: 100 * time.Millisecond,
	}
	if mod != nil {
		mod(&o)
	}
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = l.Close(ctx)
	})
	return l
}

// waitStatus waits until the link reports connected == want.
func waitStatus(t *testing.T, l *Link, want bool) Status {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case s := <-l.Status():
			if s.Connected == want {
				return s
			}
		case <-deadline:
			t.Fatalf("link did not report connected=%v within %s (Connected()=%v)", want, wait, l.Connected())
			return Status{}
		}
	}
}

// inbound waits for the next command the link hands over.
func inbound(t *testing.T, l *Link) Inbound {
	t.Helper()
	select {
	case in := <-l.Commands():
		return in
	case <-time.After(wait):
		t.Fatal("no command handed over")
		return Inbound{}
	}
}

func decode[T any](t *testing.T, m msg) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(m.payload), &v); err != nil {
		t.Fatalf("%s: %v: %s", m.topic, err, m.payload)
	}
	return v
}

// cmdNow is a command payload sent "now" on the links' fake clock.
func cmdNow(id, cmd, label string) string {
	return cmdAt(id, cmd, t0, fmt.Sprintf(`,"label":%q`, label))
}

// testLogger logs through t until the test ends, then discards.
func testLogger(t *testing.T) *slog.Logger { return testkit.Logger(t, slog.LevelInfo) }
