package broker

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// stallUnsubscribe holds the cleanup of one closing client inside mochi's
// UnsubscribeClient, after the topic index was updated and before the
// client is deleted from the server's map: the window of mochi's takeover
// race, opened deterministically.
type stallUnsubscribe struct {
	mqtt.HookBase
	id      string
	stalled atomic.Bool
	entered chan struct{}
	release chan struct{}
	freed   sync.Once
}

func (h *stallUnsubscribe) free() { h.freed.Do(func() { close(h.release) }) }

func (h *stallUnsubscribe) ID() string           { return "test-stall-unsubscribe" }
func (h *stallUnsubscribe) Provides(b byte) bool { return b == mqtt.OnUnsubscribed }
func (h *stallUnsubscribe) OnUnsubscribed(cl *mqtt.Client, _ packets.Packet) {
	if cl.ID != h.id {
		return
	}
	if h.stalled.CompareAndSwap(false, true) { // only the old connection's cleanup
		close(h.entered)
		<-h.release
	}
}

// A client that reconnects with its id while the old connection is still
// being cleaned up keeps receiving (the session guard repairs what mochi's
// late cleanup removes).
func TestReconnectDuringCleanupKeepsDelivery(t *testing.T) {
	t.Parallel()
	stall := &stallUnsubscribe{id: "station-x", entered: make(chan struct{}), release: make(chan struct{})}
	srv, addr, err := serve(Options{Listen: "127.0.0.1:0"}.withDefaults(), testLogger(t), []mqtt.Hook{stall})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	t.Cleanup(stall.free) // runs first: never leave the old cleanup stuck

	old := mustClient(t, addr, clientOpts{id: "station-x", subscribe: []string{"cuelight/all/cmd"}})
	cl, ok := srv.Clients.Get("station-x")
	if !ok {
		t.Fatal("old client not registered")
	}
	_ = cl.Net.Conn.Close() // the connection dies; mochi starts cleaning up
	waitClosed(t, stall.entered, "the old connection's cleanup")

	// The station reconnects while the old cleanup is held mid-way.
	newer := mustClient(t, addr, clientOpts{id: "station-x", subscribe: []string{"cuelight/all/cmd"}})
	stall.free() // the old cleanup now finishes: it deletes "station-x" from the map
	_ = old

	booth := mustClient(t, addr, clientOpts{id: "booth"})
	// Publish until the guard has repaired the session (it does so right
	// after the old connection's handler returns); the first delivery ends
	// the loop, and without the guard none ever comes (checked by hand:
	// with repair disabled this test fails).
	deadline := time.Now().Add(wait)
	for i := 0; ; i++ {
		if err := booth.pub(t, "cuelight/all/cmd", 1, false, fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-newer.msgs:
			t.Logf("reconnected client received %s after %d publish(es)", m.payload, i+1)
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the reconnected client receives nothing: its session was removed by the old connection's cleanup")
		}
	}
}
