package mqttlink

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/jonboulle/clockwork"
)

// The hot path: what the station's cue loop pays per publish. The link is
// not started, so nothing drains: this is the cost of the hand-off alone.
func BenchmarkPublishEvent(b *testing.B) {
	l, err := New(Options{Station: "s", QueueSize: 1024})
	if err != nil {
		b.Fatal(err)
	}
	e := Event{Event: "press", Channel: "fly", Station: "s", At: "2025-03-01T20:15:04.250Z", Source: "button", Epoch: "e"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.Seq = int64(i)
		l.PublishEvent(e)
	}
}

func BenchmarkPublishState(b *testing.B) {
	l, err := New(Options{Station: "s"})
	if err != nil {
		b.Fatal(err)
	}
	s := State{Channel: "fly", Station: "s", State: "standby", Label: "23", Since: "2025-03-01T20:15:04.250Z", Epoch: "e"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Seq = int64(i)
		l.PublishState(s)
	}
}

// PublishState while the window has room: every state gets its own queue
// entry. The benchmark takes it out again, as the publisher would: the
// figure includes the publisher's pop (and its one allocation, the copy it
// publishes).
func BenchmarkPublishStateWithRoom(b *testing.B) {
	l, err := New(Options{Station: "s"})
	if err != nil {
		b.Fatal(err)
	}
	s := State{Channel: "fly", Station: "s", State: "standby", Label: "23", Since: "2025-03-01T20:15:04.250Z", Epoch: "e"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Seq = int64(i)
		l.PublishState(s)
		l.out.pop()
	}
}

// Validating one command as the paho handler does.
func BenchmarkCommandCheck(b *testing.B) {
	clk := clockwork.NewFakeClockAt(t0)
	v := newValidator(clk, 500*time.Millisecond)
	payloads := make([][]byte, 4096)
	for i := range payloads {
		payloads[i] = []byte(cmdNow(fmt.Sprint("id-", i), "go", "23"))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%len(payloads) == 0 {
			v = newValidator(clk, 500*time.Millisecond) // forget the ids
		}
		if in := v.check("fly", "cuelight/channel/fly/cmd", payloads[i%len(payloads)], false); in.Rejected {
			b.Fatal(in.Reason)
		}
	}
}

// BenchmarkEventToSubscriber measures PublishEvent until an outside
// subscriber receives the event through Mosquitto (docs/protocol.md §8: the MQTT part
// of "button edge → event at an outside subscriber", target p99 ≤ 5 ms).
// It reports p50/p99/max besides ns/op.
func BenchmarkEventToSubscriber(b *testing.B) {
	m := startMosquitto(b)
	got := make(chan time.Time, 1)
	var want atomic.Int64
	o := paho.NewClientOptions().AddBroker(m.url()).SetClientID("bench-sub").
		SetDefaultPublishHandler(func(_ paho.Client, msg paho.Message) {
			var e Event
			if json.Unmarshal(msg.Payload(), &e) == nil && e.Seq == want.Load() {
				got <- time.Now()
			}
		})
	sub := paho.NewClient(o)
	if tok := sub.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer sub.Disconnect(10)
	if tok := sub.Subscribe("cuelight/channel/+/event", 1, nil); !tok.WaitTimeout(wait) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	l, err := New(Options{Broker: m.url(), Station: "bench", Channels: []string{"fly"}})
	if err != nil {
		b.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = l.Close(ctx)
	}()
	deadline := time.Now().Add(wait)
	for !l.Connected() {
		if time.Now().After(deadline) {
			b.Fatal("link did not connect")
		}
		time.Sleep(10 * time.Millisecond)
	}

	var lat []time.Duration
	e := Event{Event: "press", Channel: "fly", Station: "bench", At: "2025-03-01T20:15:04.250Z", Source: "button", Epoch: "e"}
	for i := 0; b.Loop(); i++ {
		e.Seq = int64(i)
		want.Store(e.Seq)
		start := time.Now()
		l.PublishEvent(e)
		select {
		case at := <-got:
			lat = append(lat, at.Sub(start))
		case <-time.After(wait):
			b.Fatalf("event %d not received", i)
		}
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
	}
}

// BenchmarkStateToSubscriber measures PublishState until an outside
// subscriber receives the state through Mosquitto, next to the same
// payload published by paho directly (Publish, QoS 1, retained, no wait):
// the link's own share of "OSC standby → MQTT state" (cuectl bench
// compares the whole station with such a relay). The two alternate, one
// message each, so both see the same machine. It reports p50 and p99 of
// each.
func BenchmarkStateToSubscriber(b *testing.B) {
	m := startMosquitto(b)
	got := make(chan time.Time, 1)
	sub := paho.NewClient(paho.NewClientOptions().AddBroker(m.url()).SetClientID("bench-state-sub"))
	if tok := sub.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer sub.Disconnect(10)
	if tok := sub.Subscribe("bench/#", 1, func(_ paho.Client, msg paho.Message) {
		if !msg.Retained() {
			got <- time.Now()
		}
	}); !tok.WaitTimeout(wait) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	raw := paho.NewClient(paho.NewClientOptions().AddBroker(m.url()).SetClientID("bench-state-raw"))
	if tok := raw.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer raw.Disconnect(10)
	l, err := New(Options{Broker: m.url(), Station: "bench", TopicPrefix: "bench", Channels: []string{"fly"}})
	if err != nil {
		b.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = l.Close(ctx)
	}()
	deadline := time.Now().Add(wait)
	for !l.Connected() {
		if time.Now().After(deadline) {
			b.Fatal("link did not connect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the connect's own publishes are through
	for len(got) > 0 {
		<-got
	}
	receive := func(i int) time.Time {
		select {
		case at := <-got:
			return at
		case <-time.After(wait):
			b.Fatalf("state %d not received", i)
			return time.Time{}
		}
	}
	var viaLink, viaPaho []time.Duration
	s := State{Channel: "fly", Station: "bench", State: "standby", Since: "2025-03-01T20:15:04.250Z", Epoch: "e"}
	for i := 0; b.Loop(); i++ {
		s.Seq, s.Label = int64(i), fmt.Sprint(i)
		start := time.Now()
		l.PublishState(s)
		viaLink = append(viaLink, receive(i).Sub(start))
		p, _ := json.Marshal(s)
		start = time.Now()
		raw.Publish("bench/raw/state", 1, true, p)
		viaPaho = append(viaPaho, receive(i).Sub(start))
	}
	for _, r := range []struct {
		name string
		d    []time.Duration
	}{{"link", viaLink}, {"paho", viaPaho}} {
		slices.Sort(r.d)
		if len(r.d) > 0 {
			b.ReportMetric(float64(r.d[len(r.d)/2].Microseconds()), r.name+"-p50-µs")
			b.ReportMetric(float64(r.d[len(r.d)*99/100].Microseconds()), r.name+"-p99-µs")
		}
	}
}
