package broker

import (
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// order records, in order, when the broker read a message from the
// station and when it wrote one to the desk.
type order struct {
	mqtt.HookBase
	mu    sync.Mutex
	steps []string
	sent  chan struct{} // one per message written to the desk
}

func (h *order) ID() string { return "test-order" }
func (h *order) Provides(b byte) bool {
	return b == mqtt.OnPublish || b == mqtt.OnPacketSent
}

func (h *order) add(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.steps = append(h.steps, s)
}

func (h *order) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.ID == "station" {
		h.add("read " + pk.TopicName)
	}
	return pk, nil
}

func (h *order) OnPacketSent(cl *mqtt.Client, pk packets.Packet, _ []byte) {
	if cl.ID == "desk" && pk.FixedHeader.Type == packets.Publish {
		h.add("sent " + pk.TopicName)
		h.sent <- struct{}{}
	}
}

// A message is written to its subscriber before the broker reads the
// publisher's next one, even when both arrived together and one core runs
// the broker (handOver): a station's state does not wait for the broker
// to take in the event published right after it.
func TestMessageLeavesBeforeTheNextIsRead(t *testing.T) {
	// Not parallel: one core for the whole test process.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	rec := &order{sent: make(chan struct{}, 2)}
	srv, addr, err := serve(Options{Listen: "127.0.0.1:0"}.withDefaults(), testLogger(t), []mqtt.Hook{rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	mustClient(t, addr, clientOpts{id: "desk", subscribe: []string{"cuelight/test/#"}})

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	connect := []byte{0x10, 19, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 7, 's', 't', 'a', 't', 'i', 'o', 'n'}
	if _, err := c.Write(connect); err != nil {
		t.Fatal(err)
	}
	connack := make([]byte, 4)
	if _, err := c.Read(connack); err != nil || connack[0] != 0x20 || connack[3] != 0 {
		t.Fatalf("CONNACK % x, %v", connack, err)
	}
	publish := func(topic string) []byte { // QoS 0, payload "x"
		return append([]byte{0x30, byte(2 + len(topic) + 1), 0, byte(len(topic))}, append([]byte(topic), 'x')...)
	}
	// Both messages in one write: the broker has the second one as soon
	// as it has the first.
	if _, err := c.Write(append(publish("cuelight/test/a"), publish("cuelight/test/b")...)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		waitClosed(t, rec.sent, "a message at the desk")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []string{"read cuelight/test/a", "sent cuelight/test/a", "read cuelight/test/b", "sent cuelight/test/b"}
	if !slices.Equal(rec.steps, want) {
		t.Errorf("the broker did %q, want %q", rec.steps, want)
	}
}
