package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// A show run: the commands a test sends to the gateways, and an outside
// observer on the broker, so that every fault test can end with the same
// two checks (issue 13): no lamp went GO without a GO sent, and nothing
// that a station published was lost.

// observer is an outside MQTT subscriber on <p>/#: a persistent session
// (clean session false, QoS 1, a fixed client id) that reconnects at once,
// so that a broker with persistence queues for it while it is away.
type observer struct {
	c mqtt.Client

	mu     sync.Mutex
	events []observed          // every event, in arrival order
	first  map[string]observed // "channel event label" → the first such event
	states map[string]observed
	got    chan struct{}
}

// observed is one event or state, decoded, and when it arrived.
type observed struct {
	Topic   string
	Arrived time.Time `json:"-"`
	At      string    `json:"at"` // an event's time
	Event   string    `json:"event"`
	State   string    `json:"state"`
	Channel string    `json:"channel"`
	Station string    `json:"station"`
	Label   string    `json:"label"`
	Source  string    `json:"source"`
	Seq     int64     `json:"seq"`
	Epoch   string    `json:"epoch"`
	Since   string    `json:"since"`
	Reason  string    `json:"reason"`
}

// observe connects an observer to the first of brokers that answers (all
// of them, in order, as a station does).
func observe(t *testing.T, brokers ...string) *observer {
	t.Helper()
	o := &observer{states: map[string]observed{}, first: map[string]observed{}, got: make(chan struct{}, 1)}
	opts := mqtt.NewClientOptions().SetClientID(fmt.Sprintf("observer-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-"))).
		SetCleanSession(false).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(100 * time.Millisecond).SetMaxReconnectInterval(200 * time.Millisecond).
		SetKeepAlive(10 * time.Second).SetOrderMatters(false)
	for _, b := range brokers {
		opts.AddBroker(b)
	}
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		c.Subscribe("cuelight/#", 1, o.onMessage)
	})
	o.c = mqtt.NewClient(opts)
	if tok := o.c.Connect(); !tok.WaitTimeout(patience) || tok.Error() != nil {
		t.Fatalf("observer: connect: %v", tok.Error())
	}
	t.Cleanup(func() { o.c.Disconnect(100) })
	return o
}

func (o *observer) onMessage(_ mqtt.Client, m mqtt.Message) {
	var v observed
	if json.Unmarshal(m.Payload(), &v) != nil {
		return
	}
	v.Topic, v.Arrived = m.Topic(), time.Now()
	o.mu.Lock()
	switch {
	case strings.HasSuffix(v.Topic, "/event"):
		o.events = append(o.events, v)
		if k := v.Channel + " " + v.Event + " " + v.Label; o.first[k].Topic == "" {
			o.first[k] = v
		}
	case strings.HasSuffix(v.Topic, "/state"):
		if old, ok := o.states[v.Channel]; !ok || newer(v, old) {
			o.states[v.Channel] = v
		}
	}
	o.mu.Unlock()
	select {
	case o.got <- struct{}{}:
	default:
	}
}

// newer orders two states of a channel the way docs/mqtt.md says: by
// epoch's since, then seq; never by arrival.
func newer(a, b observed) bool {
	if a.Epoch != b.Epoch {
		return a.Since > b.Since
	}
	return a.Seq > b.Seq
}

// allEvents returns a copy of the events so far.
func (o *observer) allEvents() []observed {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.events)
}

// firstEvent returns the first event of a kind with label on a channel.
func (o *observer) firstEvent(ch, kind, label string) (observed, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.first[ch+" "+kind+" "+label]
	return e, ok
}

// state returns the newest state of a channel seen.
func (o *observer) state(ch string) (observed, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s, ok := o.states[ch]
	return s, ok
}

// showRun is a running show: its file, processes, the observer, and the
// GOs the test sent.
type showRun struct {
	t        *testing.T
	f        showFile
	path     string
	stations map[string]*stationProc
	obs      *observer
	booths   []booth // OSC clients of the gateways; commands go to each

	mu   sync.Mutex
	gos  map[string]bool // "channel label" of every GO sent, either way
	sent int             // commands sent (each counted once, whatever the number of gateways)
}

// startShow writes the show file and starts every station, then the
// gateways, and waits until the first gateway sees every channel.
func startShow(t *testing.T, f showFile) *showRun {
	t.Helper()
	r := &showRun{t: t, f: f, path: f.write(t), stations: map[string]*stationProc{}, gos: map[string]bool{}}
	r.obs = observe(t, f.Brokers...)
	r.start()
	return r
}

// start starts every station, then the gateways, and waits until the
// first gateway sees every channel.
func (r *showRun) start() {
	t, f := r.t, r.f
	t.Helper()
	for _, s := range f.Stations {
		r.stations[s] = runStation(t, r.path, s, "info")
	}
	for _, g := range f.Gateways {
		r.stations[g] = runStation(t, r.path, g, "info")
	}
	for _, name := range append(slices.Clone(f.Stations), f.Gateways...) {
		d := r.stations[name]
		d.ready(t, 2*patience)
		waitFor(t, name+" connected to MQTT", func() bool { return d.stats(t).MQTTConnected })
	}
	for _, g := range f.Gateways {
		r.booths = append(r.booths, dialBooth(t, r.stations[g].oscAddr))
	}
	syncAll(t, r.booths[0], f.allChannels(), "state from its station", notOffline)
}

// send sends one OSC command to every gateway in booths (all of them when
// none is given) and records a GO.
func (r *showRun) send(address string, args ...string) {
	r.t.Helper()
	r.mu.Lock()
	r.sent++
	if strings.HasSuffix(address, "/go") {
		parts := strings.Split(address, "/") // "", cuelight, <ch>|cue, <label>?, go
		label := ""
		if len(args) > 0 {
			label = args[0]
		}
		if parts[2] == "cue" {
			r.gos["cue "+parts[3]] = true // the channels standing by for it
		} else {
			r.gos[parts[2]+" "+label] = true
		}
	}
	r.mu.Unlock()
	for _, b := range r.booths {
		b.send(r.t, address, args...)
	}
}

// waitChannels waits until every channel in want is in its state and
// label ("go 5") on the station that owns it.
func (r *showRun) waitChannels(want map[string]string) {
	r.t.Helper()
	for ch, sl := range want {
		state, label, _ := strings.Cut(sl, " ")
		r.stations[r.f.ownerOf(ch)].waitState(r.t, ch, state, label)
	}
}

// sendUntil sends a command to the gateways again until every channel of
// want is in its state ("go 1") on its station: what a booth that reads
// /cuelight/error does. The duplicate rules make a repeated command a
// no-op. It returns how many times it sent.
func (r *showRun) sendUntil(want map[string]string, address string, args ...string) int {
	r.t.Helper()
	done := func() bool {
		for ch, sl := range want {
			st := r.stations[r.f.ownerOf(ch)].channels(r.t)[ch]
			if st.State+" "+st.Label != sl {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(patience)
	for n := 1; ; n++ {
		r.send(address, args...)
		for again := time.Now().Add(time.Second); time.Now().Before(again); time.Sleep(20 * time.Millisecond) {
			if done() {
				return n
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s %v: %v not reached after %d sends", address, args, want, n)
		}
	}
}

// ackStandby stands a channel by for label with ACK requested, and
// presses its ACK button on the owning station's sim board.
func (r *showRun) ackStandby(ch, label string) {
	r.t.Helper()
	r.send("/cuelight/"+ch+"/standby_ack", label)
	d := r.stations[r.f.ownerOf(ch)]
	d.waitState(r.t, ch, "standby", label)
	d.press(r.t, r.f.pinsOf(ch)[2])
	d.waitState(r.t, ch, "ack", label)
}

// check is the end of every fault test: no uncommanded GO, no GO fired
// twice, no lamp lit for a GO never sent, nothing published lost (every
// state change of every channel of the running stations reached the
// observer as an event), and the observer's and the gateways' view
// converged on each station's own state. It returns the number of
// uncommanded GOs (each also an error).
func (r *showRun) check(dead ...string) (uncommanded int) {
	t := r.t
	t.Helper()
	// Every station's own state, and the observer has caught up with it.
	own := map[string]stateJSON{}
	for _, s := range r.f.Stations {
		if slices.Contains(dead, s) {
			continue
		}
		for ch, st := range r.stations[s].channels(t) {
			own[ch] = st
		}
	}
	waitFor(t, "the observer to see every channel's current state", func() bool {
		for ch, st := range own {
			o, ok := r.obs.state(ch)
			if !ok || o.Epoch != st.Epoch || o.Seq != st.Seq {
				return false
			}
		}
		return true
	})
	// Events go out after their state: wait until none is missing (a lost
	// one fails here after patience).
	gos := map[string]int{}
	stoodBy := map[string]bool{} // "channel label" with a standby event seen before
	var lost []string
	deadline := time.Now().Add(patience)
	for {
		gos, stoodBy = map[string]int{}, map[string]bool{}
		seqs := map[string]map[int64]bool{} // channel epoch → event seqs seen
		for _, e := range r.obs.allEvents() {
			k := e.Channel + " " + e.Epoch
			if seqs[k] == nil {
				seqs[k] = map[int64]bool{}
			}
			seqs[k][e.Seq] = true
			switch e.Event {
			case "standby":
				stoodBy[e.Channel+" "+e.Label] = true
			case "go":
				gos[e.Channel+" "+e.Label]++
				if !stoodBy[e.Channel+" "+e.Label] {
					gos[e.Channel+" "+e.Label+" unwarned"]++
				}
			}
		}
		lost = lost[:0]
		for ch, st := range own {
			for seq := int64(1); seq <= st.Seq; seq++ {
				if !seqs[ch+" "+st.Epoch][seq] {
					lost = append(lost, fmt.Sprintf("%s#%d", ch, seq))
				}
			}
		}
		if len(lost) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.mu.Lock()
	for k, n := range gos {
		if strings.HasSuffix(k, " unwarned") {
			continue
		}
		_, label, _ := strings.Cut(k, " ")
		// A cue GO is commanded for the channels that stood by for it.
		byCue := r.gos["cue "+label] && gos[k+" unwarned"] == 0
		if !r.gos[k] && !byCue {
			t.Errorf("uncommanded GO: %s (%d events), no GO was sent for it", k, n)
			uncommanded += n
		} else if n > 1 {
			t.Errorf("GO %s fired %d times", k, n)
		}
	}
	r.mu.Unlock()
	sort.Strings(lost)
	if len(lost) > 0 {
		t.Errorf("events published but never seen by the observer: %v", lost)
	}
	// No GO lamp lit on a channel that is not in go.
	for _, s := range r.f.Stations {
		if slices.Contains(dead, s) {
			continue
		}
		pins := r.stations[s].pins(t)
		for _, ch := range r.f.channelsOf(s) {
			if pins[r.f.pinsOf(ch)[1]].Level && own[ch].State != "go" {
				t.Errorf("%s's GO lamp lit in state %s", ch, own[ch].State)
			}
		}
	}
	return uncommanded
}

// startPersistentMosquitto is a Mosquitto with persistence: the observer's session (and the retained
// states) survive a kill -9 of the broker, saved at every change.
func startPersistentMosquitto(t *testing.T) *mosquitto {
	t.Helper()
	m := startMosquitto(t)
	m.stopBroker()
	dir := t.TempDir()
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\nuser root\npersistence true\npersistence_location %s/\nautosave_on_changes true\nautosave_interval 1\nlog_dest stderr\nlog_type all\n", m.port, dir)
	if err := os.WriteFile(m.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	m.restart()
	return m
}
