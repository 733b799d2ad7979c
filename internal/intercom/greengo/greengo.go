// Package greengo is the station's adapter to a Green-GO digital intercom
// (docs/protocol.md §10). Green-GO has no fixed OSC interface; a Green-GO
// device running the remote-control device script accepts
//
//	/ggo/cmd/channel/call ,ii <0 off|1 call|2 alert> <channel>
//	/ggo/cmd/channel/cue  ,ii <2 attention|3 ready|4 go|5 hold|0 stop> <channel>
//
// answers under /ggo/state/..., and sends a heartbeat every 3 seconds.
// Channels are numbered 1 to 6.
//
// The adapter mirrors the cue states of its channels as cue signals
// (standby → attention, ack → ready, go → go, hold → hold, off and lost →
// stop) and turns a late-ack escalation into an alert call. It watches
// what the device sends back: any OSC message under /ggo/ from the
// device's address counts as heard, and after two heartbeat periods of
// silence the intercom is lost.
//
// A missing or misbehaving intercom never slows the cue path: Cue and
// Alert only put a small record in a bounded queue (when it is full the
// oldest record is dropped and counted) and return; the socket is written
// and read by the adapter's own goroutines.
package greengo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/osc"
)

// The OSC addresses of the Green-GO device script.
const (
	AddrCall = "/ggo/cmd/channel/call"
	AddrCue  = "/ggo/cmd/channel/cue"
	// StatePrefix starts the device's replies; every message under Prefix
	// from the device counts as heard.
	StatePrefix = "/ggo/state/"
	Prefix      = "/ggo/"
)

// Call values (the first argument of AddrCall).
const (
	CallOff   = 0
	CallCall  = 1
	CallAlert = 2
)

// Cue signal values (the first argument of AddrCue).
const (
	CueStop      = 0
	CueAttention = 2
	CueReady     = 3
	CueGo        = 4
	CueHold      = 5
)

// Channel numbers the device script accepts.
const (
	MinChannel = 1
	MaxChannel = 6
)

// Defaults for Options left zero.
const (
	DefaultHeartbeat = 3 * time.Second // the device script's heartbeat period
	DefaultQueue     = 64              // records waiting to be sent
)

// Link states, as the station reports them ("intercom": ok|lost).
const (
	StateOK   = "ok"
	StateLost = "lost"
)

// Options configure an Adapter.
type Options struct {
	// Address is the device's OSC host:port. A host name is resolved by
	// the sending goroutine, never by the caller of Cue or Alert.
	Address string
	// Channels maps a cue-light channel name to its Green-GO channel
	// number (1–6). Cue and Alert ignore other channels.
	Channels map[string]int
	// Listen is the local UDP address the adapter sends from and reads the
	// device's replies on (default "0.0.0.0:0": any interface, a free port;
	// the device answers to the port a command came from).
	Listen string
	// Heartbeat is the device's heartbeat period (default 3s); two periods
	// of silence make the intercom lost.
	Heartbeat time.Duration
	// Queue bounds the records waiting to be sent (default 64).
	Queue int
	// OnState is called, on the adapter's own goroutine, whenever the
	// link state changes (StateOK or StateLost). It must not block.
	OnState func(state string)
	Clock   clockwork.Clock
	Logger  *slog.Logger
}

// Stats are the adapter's counters.
type Stats struct {
	State    string `json:"state"`    // ok or lost
	Sent     int64  `json:"sent"`     // messages written to the device
	Dropped  int64  `json:"dropped"`  // records dropped because the queue was full (the oldest go first)
	Errors   int64  `json:"errors"`   // failed writes and address resolutions
	Received int64  `json:"received"` // messages from the device under /ggo/ (heard)
	Ignored  int64  `json:"ignored"`  // datagrams from elsewhere, not OSC, or not under /ggo/
}

// record is one message waiting to be sent: AddrCall or AddrCue with
// (value, channel).
type record struct {
	cue     bool
	value   int32
	channel int32
}

// Adapter is the Green-GO link of one station. Make it with New, run it
// with Run; Cue, Alert, State and Stats are safe from any goroutine.
type Adapter struct {
	opts     Options
	conn     *net.UDPConn
	channels map[string]int32

	mu    sync.Mutex
	queue []record // ring of len opts.Queue
	head  int      // index of the oldest record
	n     int      // records in the queue
	wake  chan struct{}

	heard     atomic.Int64 // clock time of the last message heard, UnixNano; 0: never
	state     atomic.Value // string
	becameOK  chan struct{}
	device    atomic.Pointer[netip.AddrPort]
	sent      atomic.Int64
	dropped   atomic.Int64
	errs      atomic.Int64
	received  atomic.Int64
	ignored   atomic.Int64
	closeOnce sync.Once
}

// ErrBadChannel is returned (wrapped) by New for a channel number outside
// 1–6.
var ErrBadChannel = errors.New("greengo: channel numbers are 1 to 6")

// New checks the options and opens the local UDP socket. The intercom is
// lost until the device is first heard.
func New(o Options) (*Adapter, error) {
	if _, _, err := net.SplitHostPort(o.Address); err != nil {
		return nil, fmt.Errorf("greengo: address %q: %w", o.Address, err)
	}
	if o.Listen == "" {
		o.Listen = "0.0.0.0:0"
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.OnState == nil {
		o.OnState = func(string) {}
	}
	chans := make(map[string]int32, len(o.Channels))
	for name, n := range o.Channels {
		if n < MinChannel || n > MaxChannel {
			return nil, fmt.Errorf("%w: %s is %d", ErrBadChannel, name, n)
		}
		chans[name] = int32(n)
	}
	la, err := net.ResolveUDPAddr("udp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("greengo: listen %q: %w", o.Listen, err)
	}
	conn, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, fmt.Errorf("greengo: %w", err)
	}
	a := &Adapter{
		opts: o, conn: conn, channels: chans,
		queue:    make([]record, o.Queue),
		wake:     make(chan struct{}, 1),
		becameOK: make(chan struct{}, 1),
	}
	a.state.Store(StateLost)
	return a, nil
}

// LocalAddr is the address the adapter sends from and listens on.
func (a *Adapter) LocalAddr() netip.AddrPort {
	return a.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// State returns StateOK or StateLost.
func (a *Adapter) State() string { return a.state.Load().(string) }

// Stats returns the counters.
func (a *Adapter) Stats() Stats {
	return Stats{
		State: a.State(), Sent: a.sent.Load(), Dropped: a.dropped.Load(), Errors: a.errs.Load(),
		Received: a.received.Load(), Ignored: a.ignored.Load(),
	}
}

// Has reports whether the cue-light channel is mirrored on the intercom.
func (a *Adapter) Has(channel string) bool {
	_, ok := a.channels[channel]
	return ok
}

// CueSignal returns the Green-GO cue signal that mirrors a cue state.
func CueSignal(st cues.State) int32 {
	switch st {
	case cues.StateStandby:
		return CueAttention
	case cues.StateAck:
		return CueReady
	case cues.StateGo:
		return CueGo
	case cues.StateHold:
		return CueHold
	}
	return CueStop // off, lost
}

// Cue mirrors a channel's new cue state on the intercom. It never blocks.
func (a *Adapter) Cue(channel string, st cues.State) {
	if n, ok := a.channels[channel]; ok {
		a.push(record{cue: true, value: CueSignal(st), channel: n})
	}
}

// Alert calls the channel's position on the intercom with an alert call
// (a late-ack escalation). It never blocks.
func (a *Adapter) Alert(channel string) {
	if n, ok := a.channels[channel]; ok {
		a.push(record{value: CallAlert, channel: n})
	}
}

// push queues r, dropping the oldest record when the queue is full.
func (a *Adapter) push(r record) {
	a.mu.Lock()
	if a.n == len(a.queue) {
		a.head = (a.head + 1) % len(a.queue)
		a.n--
		a.dropped.Add(1)
	}
	a.queue[(a.head+a.n)%len(a.queue)] = r
	a.n++
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// pop takes the oldest record.
func (a *Adapter) pop() (record, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == 0 {
		return record{}, false
	}
	r := a.queue[a.head]
	a.head = (a.head + 1) % len(a.queue)
	a.n--
	return r, true
}

// Run sends, receives and watches the heartbeat until ctx is done, then
// closes the socket. It returns nil after a clean stop: a missing or
// hostile intercom is counted and logged, never an error that would stop
// the station.
func (a *Adapter) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); a.sendLoop(ctx) }()
	go func() { defer wg.Done(); a.readLoop() }()
	go func() { defer wg.Done(); a.watch(ctx) }()
	<-ctx.Done()
	a.Close()
	wg.Wait()
	return nil
}

// Close closes the socket; Run's goroutines end. Idempotent.
func (a *Adapter) Close() error {
	var err error
	a.closeOnce.Do(func() { err = a.conn.Close() })
	return err
}

// resolve finds the device's address; nil when it cannot (counted).
func (a *Adapter) resolve() *netip.AddrPort {
	if p := a.device.Load(); p != nil {
		return p
	}
	ua, err := net.ResolveUDPAddr("udp", a.opts.Address)
	if err != nil {
		a.errs.Add(1)
		a.opts.Logger.Warn("Green-GO address cannot be resolved", "address", a.opts.Address, "err", err)
		return nil
	}
	ap := ua.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	a.device.Store(&ap)
	return &ap
}

func (a *Adapter) sendLoop(ctx context.Context) {
	var buf []byte
	var lastErr time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
		}
		for {
			r, ok := a.pop()
			if !ok {
				break
			}
			to := a.resolve()
			if to == nil {
				a.dropped.Add(1)
				continue
			}
			addr := AddrCall
			if r.cue {
				addr = AddrCue
			}
			var err error
			buf, err = osc.NewMessage(addr, osc.Int32(r.value), osc.Int32(r.channel)).AppendBinary(buf[:0])
			if err == nil {
				_, err = a.conn.WriteToUDPAddrPort(buf, *to)
			}
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				a.errs.Add(1)
				if now := a.opts.Clock.Now(); now.Sub(lastErr) >= time.Second {
					lastErr = now
					a.opts.Logger.Warn("Green-GO send failed", "address", a.opts.Address, "err", err)
				}
				continue
			}
			a.sent.Add(1)
		}
	}
}

// readLoop reads what the device sends; only OSC under /ggo/ from the
// device's address counts as heard.
func (a *Adapter) readLoop() {
	buf := make([]byte, 65536)
	var dec osc.Decoder
	for {
		n, from, err := a.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP port unreachable reported on some systems
		}
		dev := a.resolve()
		if dev == nil || from.Addr().Unmap() != dev.Addr() {
			a.ignored.Add(1)
			continue
		}
		p, err := dec.Decode(buf[:n])
		if err != nil || !underPrefix(p) {
			a.ignored.Add(1)
			continue
		}
		a.received.Add(1)
		a.heard.Store(a.opts.Clock.Now().UnixNano())
		if a.state.CompareAndSwap(StateLost, StateOK) {
			a.opts.Logger.Info("Green-GO intercom heard", "address", a.opts.Address)
			a.opts.OnState(StateOK)
			select {
			case a.becameOK <- struct{}{}:
			default:
			}
		}
	}
}

// underPrefix reports whether a packet is, or holds, a message under /ggo/.
func underPrefix(p osc.Packet) bool {
	switch v := p.(type) {
	case *osc.Message:
		return strings.HasPrefix(v.Address, Prefix)
	case *osc.Bundle:
		for _, e := range v.Elements {
			if underPrefix(e) {
				return true
			}
		}
	}
	return false
}

// watch turns the state to lost after two heartbeat periods without a
// message from the device.
func (a *Adapter) watch(ctx context.Context) {
	limit := 2 * a.opts.Heartbeat
	for {
		if a.State() == StateLost {
			select {
			case <-ctx.Done():
				return
			case <-a.becameOK:
			}
			continue
		}
		deadline := time.Unix(0, a.heard.Load()).Add(limit)
		t := a.opts.Clock.NewTimer(deadline.Sub(a.opts.Clock.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.Chan():
		}
		if now := a.opts.Clock.Now(); now.Sub(time.Unix(0, a.heard.Load())) >= limit {
			if a.state.CompareAndSwap(StateOK, StateLost) {
				// Drain a stale "became ok" so the next wait is for a new one.
				select {
				case <-a.becameOK:
				default:
				}
				a.opts.Logger.Warn("Green-GO intercom lost: no heartbeat", "address", a.opts.Address, "silent_for", limit)
				a.opts.OnState(StateLost)
			}
		}
	}
}
