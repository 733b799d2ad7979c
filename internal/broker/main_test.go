package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/cuelight/cuelight/internal/testkit"
)

// The test binary is also the broker child (and, for the parent-death test,
// a station that runs a Supervisor).
func TestMain(m *testing.M) {
	if IsChild() {
		os.Exit(ChildMain())
	}
	if os.Getenv(fakeStationEnv) == "1" {
		os.Exit(fakeStation())
	}
	// Children built with -race would sleep 1 s at exit (GORACE
	// atexit_sleep_ms defaults to 1000); that only slows the tests down.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	os.Exit(m.Run())
}

// wait is the generous deadline of every wait in these tests: they wait on
// events, never on speed.
const wait = 10 * time.Second

// startBroker starts a supervised broker child (this test binary) and stops
// it at the end of the test.
func startBroker(t *testing.T, opts Options) *Supervisor {
	t.Helper()
	opts.Exe = os.Args[0]
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	s := &Supervisor{Logger: testLogger(t)}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Start(ctx, opts); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	waitClosed(t, s.Ready(), "broker ready")
	return s
}

func waitClosed(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// msg is a message received by a test client.
type msg struct {
	topic    string
	payload  string
	retained bool
	qos      byte
}

// client is a paho test client that records what it receives.
type client struct {
	paho.Client
	msgs     chan msg
	connects chan struct{}
}

// clientOpts are the options of a test client; subscribe is (re)done on
// every connect.
type clientOpts struct {
	id, user, pass string
	subscribe      []string
	autoReconnect  bool
}

func newClient(t *testing.T, addr string, o clientOpts) (*client, error) {
	t.Helper()
	c := &client{msgs: make(chan msg, 256), connects: make(chan struct{}, 16)}
	handler := func(_ paho.Client, m paho.Message) {
		select {
		case c.msgs <- msg{m.Topic(), string(m.Payload()), m.Retained(), m.Qos()}:
		default:
			t.Errorf("test client %s: message buffer full", o.id)
		}
	}
	po := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(o.id).
		SetUsername(o.user).SetPassword(o.pass).
		SetAutoReconnect(o.autoReconnect).SetMaxReconnectInterval(500 * time.Millisecond).
		SetConnectTimeout(wait).SetKeepAlive(30 * time.Second).
		SetDefaultPublishHandler(handler).
		SetOnConnectHandler(func(cl paho.Client) {
			if len(o.subscribe) > 0 {
				f := map[string]byte{}
				for _, s := range o.subscribe {
					f[s] = 1
				}
				tok := cl.SubscribeMultiple(f, handler)
				if !tok.WaitTimeout(wait) || tok.Error() != nil {
					t.Errorf("test client %s: subscribe: %v", o.id, tok.Error())
				}
			}
			c.connects <- struct{}{}
		})
	c.Client = paho.NewClient(po)
	tok := c.Connect()
	if !tok.WaitTimeout(wait) {
		return nil, fmt.Errorf("connect %s: timed out", o.id)
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	select {
	case <-c.connects:
	case <-time.After(wait):
		return nil, fmt.Errorf("connect %s: on-connect handler did not finish", o.id)
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c, nil
}

func mustClient(t *testing.T, addr string, o clientOpts) *client {
	t.Helper()
	c, err := newClient(t, addr, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *client) pub(t *testing.T, topic string, qos byte, retain bool, payload string) error {
	t.Helper()
	tok := c.Publish(topic, qos, retain, payload)
	if !tok.WaitTimeout(wait) {
		return fmt.Errorf("publish %s: no PUBACK in %s", topic, wait)
	}
	return tok.Error()
}

// next returns the next message, failing the test after the deadline.
func (c *client) next(t *testing.T) msg {
	t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(wait):
		t.Fatal("timed out waiting for a message")
		return msg{}
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// testLogger logs through t until the test ends, then discards.
func testLogger(t *testing.T) *slog.Logger { return testkit.Logger(t, slog.LevelDebug) }
