// Package mqttlink is a station's MQTT client: it publishes the station's
// status, info, channel states and events (SPEC §4) and takes commands from
// <prefix>/channel/<ch>/cmd and <prefix>/all/cmd.
//
// It is built so that MQTT can never stall or re-fire the cue path:
//
//   - Start returns at once; the station runs with the broker down, and the
//     link connects (and reconnects) in the background. Connected and Status
//     report the link.
//   - PublishState, PublishEvent and PublishInfo never block and take no lock
//     that a paho callback or network I/O holds. States and info are
//     coalesced (the latest per channel is always eventually published,
//     retained, QoS 1); events go through a bounded queue that drops the
//     OLDEST event when full and counts it (Dropped). One publisher goroutine
//     publishes at QoS 1 with bounded waits, and only while connected: while
//     the broker is away, states stay coalesced and events stay queued.
//   - On every (re)connect the link publishes retained "online", the Info and
//     every channel's State from Options.Snapshot, then subscribes to the
//     command topics. The session is clean (CleanSession true): a broker
//     never keeps commands for us while we are away, so a reconnect cannot
//     replay stale GOs.
//   - Commands are validated (retain flag, duplicate id, ts and ttl_ms,
//     payload) on an injected clock and handed over on Commands without
//     blocking; rejected ones are handed over flagged, so the station reports
//     them as "rejected" events with the channel's own seq.
package mqttlink

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/jonboulle/clockwork"
)

// Defaults for Options.
const (
	DefaultBroker               = "tcp://127.0.0.1:1883"
	DefaultTopicPrefix          = "cuelight"
	DefaultQueueSize            = 1024
	DefaultCommandQueue         = 64
	DefaultDialTimeout          = 5 * time.Second
	DefaultRetryInterval        = time.Second
	DefaultMaxReconnectInterval = 2 * time.Second
	DefaultKeepAlive            = 10 * time.Second
	DefaultPublishTimeout       = 3 * time.Second
)

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("mqttlink: link closed")

// Options configures a Link. Station is required; everything else has a
// default.
type Options struct {
	// Broker is the broker URL: tcp://, ssl://, ws://, wss://...
	// Default DefaultBroker, the embedded broker.
	Broker string
	// Station is this station's name; it appears in topics and payloads.
	Station string
	// Show is the show's name (logged, and put in Info when empty there).
	Show string
	// TopicPrefix is the first topic level, default "cuelight".
	TopicPrefix string
	// ClientID is the MQTT client id, default "cuelight-<station>". It must be
	// unique on the broker and stable across restarts: a second client with
	// the same id makes the broker drop the first, and both then reconnect
	// forever. Two shows sharing one broker need distinct station names (or
	// an explicit ClientID).
	ClientID string
	// Username and Password authenticate to the broker, when it asks.
	Username, Password string
	// TLS configures ssl:// and wss:// connections (nil: system defaults).
	TLS *tls.Config
	// ClockSkew is the tolerance when judging a command's ts (SPEC
	// mqtt.clock_skew): a command is stale when older than ttl_ms +
	// ClockSkew, and from the future when ahead by more than ClockSkew.
	ClockSkew time.Duration
	// Clock decides command staleness and the duplicate-id window. Default:
	// the real clock. Network timeouts always use real time.
	Clock clockwork.Clock
	// Logger receives the link's logs; nil discards them.
	Logger *slog.Logger
	// QueueSize bounds the outgoing event queue, default 1024.
	QueueSize int
	// CommandQueue is the capacity of the Commands channel, default 64.
	CommandQueue int
	// Snapshot returns the station's Info and every channel's State; the
	// link calls it on every (re)connect, from a paho goroutine, to
	// republish them. It must be safe to call from another goroutine and
	// should not block for long. Nil: only "online" is published on connect.
	Snapshot func() (Info, []State)
	// Channels are this station's channels: the link subscribes to their
	// command topics (and to <prefix>/all/cmd). Commands for other channels
	// are ignored.
	Channels []string
	// DialTimeout bounds one connection attempt, default 5 s.
	DialTimeout time.Duration
	// RetryInterval is the pause between attempts of the first connection,
	// default 1 s. After a loss paho retries at once, then backs off from 1 s
	// up to MaxReconnectInterval (default 2 s).
	RetryInterval, MaxReconnectInterval time.Duration
	// KeepAlive is the MQTT keep-alive, default 10 s: the broker publishes
	// the Will about 15 s after the station vanishes.
	KeepAlive time.Duration
	// PublishTimeout bounds the wait for one batch of PUBACKs, default 3 s.
	PublishTimeout time.Duration
}

// Status is a change of the link's connection, delivered on Link.Status.
type Status struct {
	Connected bool
	Err       error // why the connection was lost or could not be made; nil when connected
}

// Link is one station's MQTT connection. Create it with New, start it with
// Start, stop it with Close. All methods are safe for concurrent use.
type Link struct {
	opts     Options
	topics   Topics
	log      *slog.Logger
	client   paho.Client
	val      *validator
	channels map[string]bool

	cmds   chan Inbound
	status chan Status

	// Hot path: held only to swap a value, never during I/O.
	stMu    sync.Mutex
	pending map[string]State // latest unpublished state per channel
	info    *Info            // latest unpublished info
	events  *eventQueue
	wake    chan struct{} // cap 1: work for the publisher
	markers markerQueue   // performance markers (marker.go)

	// pubSem serialises publishing (publisher goroutine, OnConnect, Close)
	// so that retained states go out in the order they were taken.
	pubSem chan struct{}

	store   *gateStore
	attempt atomic.Uint64 // store.count() when the latest connection attempt began

	statusMu sync.Mutex // serialises Status notifications
	up       atomic.Bool
	lastErr  atomic.Pointer[error]

	dropped, cmdDropped, cmdRejected, connects, pubFailures atomic.Int64

	started   atomic.Bool
	closing   chan struct{}
	closeOnce sync.Once
	closed    chan struct{} // closed when Close has finished
	closeErr  error
	pubDone   chan struct{}
}

// New checks opts and builds a Link; it does not connect (see Start).
func New(opts Options) (*Link, error) {
	if opts.Station == "" {
		return nil, errors.New("mqttlink: Options.Station is required")
	}
	if opts.Broker == "" {
		opts.Broker = DefaultBroker
	}
	u, err := url.Parse(opts.Broker)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("mqttlink: broker %q is not a URL like tcp://host:1883", opts.Broker)
	}
	if opts.TopicPrefix == "" {
		opts.TopicPrefix = DefaultTopicPrefix
	}
	if opts.ClientID == "" {
		opts.ClientID = "cuelight-" + opts.Station
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.CommandQueue <= 0 {
		opts.CommandQueue = DefaultCommandQueue
	}
	setDefault(&opts.DialTimeout, DefaultDialTimeout)
	setDefault(&opts.RetryInterval, DefaultRetryInterval)
	setDefault(&opts.MaxReconnectInterval, DefaultMaxReconnectInterval)
	setDefault(&opts.KeepAlive, DefaultKeepAlive)
	setDefault(&opts.PublishTimeout, DefaultPublishTimeout)

	l := &Link{
		opts:     opts,
		topics:   Topics{Prefix: opts.TopicPrefix},
		log:      opts.Logger.With("station", opts.Station),
		val:      newValidator(opts.Clock, opts.ClockSkew),
		channels: make(map[string]bool, len(opts.Channels)),
		cmds:     make(chan Inbound, opts.CommandQueue),
		status:   make(chan Status, 1),
		pending:  make(map[string]State),
		events:   newEventQueue(opts.QueueSize),
		wake:     make(chan struct{}, 1),
		pubSem:   make(chan struct{}, 1),
		closing:  make(chan struct{}),
		closed:   make(chan struct{}),
		pubDone:  make(chan struct{}),
	}
	for _, ch := range opts.Channels {
		l.channels[ch] = true
	}
	l.store = newGateStore(paho.NewOrderedMemoryStore())

	co := paho.NewClientOptions().
		AddBroker(opts.Broker).
		SetClientID(opts.ClientID).
		SetUsername(opts.Username).
		SetPassword(opts.Password).
		SetCleanSession(true). // never let the broker queue commands for us: no stale GO on reconnect
		SetOrderMatters(true). // handlers only validate and hand off, never block
		SetAutoReconnect(true).
		SetMaxReconnectInterval(opts.MaxReconnectInterval).
		SetConnectRetry(true).
		SetConnectRetryInterval(opts.RetryInterval).
		SetConnectTimeout(opts.DialTimeout).
		SetWriteTimeout(opts.PublishTimeout).
		SetKeepAlive(opts.KeepAlive).
		SetPingTimeout(opts.KeepAlive/2).
		SetStore(l.store).
		SetWill(l.topics.Status(opts.Station), "offline", 1, true).
		SetDefaultPublishHandler(l.onMessage).
		SetOnConnectHandler(l.onConnect).
		SetConnectionLostHandler(l.onLost).
		SetConnectionNotificationHandler(l.onNotification)
	if opts.TLS != nil {
		co.SetTLSConfig(opts.TLS)
	}
	l.client = paho.NewClient(co)
	return l, nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Start connects in the background and returns at once; the link keeps
// trying until Close. Cancelling ctx closes the link as Close does, with a
// one-second deadline. Start may be called once.
func (l *Link) Start(ctx context.Context) error {
	select {
	case <-l.closing:
		return ErrClosed
	default:
	}
	if !l.started.CompareAndSwap(false, true) {
		return errors.New("mqttlink: Start called twice")
	}
	l.log.Info("mqtt link starting", "broker", l.opts.Broker, "client_id", l.opts.ClientID, "show", l.opts.Show)
	go l.publisher()
	l.client.Connect() // ConnectRetry: returns at once, connects in the background
	go func() {
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = l.Close(cctx)
		case <-l.closing:
		}
	}()
	return nil
}

// Commands delivers the commands received on this station's command topics,
// accepted and rejected (Inbound.Rejected), in arrival order. When the
// station does not keep up and the channel is full, commands are dropped,
// counted and logged. The channel is never closed.
func (l *Link) Commands() <-chan Inbound { return l.cmds }

// Status delivers connection changes. It holds only the latest change:
// a slow reader misses intermediate ones but always sees the last.
func (l *Link) Status() <-chan Status { return l.status }

// Connected reports whether the link is connected and has published its
// retained state and subscribed to its command topics.
func (l *Link) Connected() bool { return l.up.Load() }

// Dropped is the number of events dropped because the queue was full.
func (l *Link) Dropped() int64 { return l.dropped.Load() }

// ClientID is the MQTT client id in use.
func (l *Link) ClientID() string { return l.opts.ClientID }

// PublishState queues s for publication, retained at QoS 1, on
// <prefix>/channel/<s.Channel>/state, replacing any state of that channel
// not yet published. It never blocks.
func (l *Link) PublishState(s State) {
	l.stMu.Lock()
	l.pending[s.Channel] = s
	l.stMu.Unlock()
	l.kick()
}

// PublishInfo queues info for publication, retained at QoS 1, replacing any
// info not yet published. It never blocks.
func (l *Link) PublishInfo(info Info) {
	l.stMu.Lock()
	l.info = &info
	l.stMu.Unlock()
	l.kick()
}

// PublishEvent queues e for publication at QoS 1 on
// <prefix>/channel/<e.Channel>/event. It never blocks: when the queue is
// full the oldest queued event is dropped and counted (Dropped).
func (l *Link) PublishEvent(e Event) {
	if l.events.push(e) {
		if n := l.dropped.Add(1); isPowerOf10(n) {
			l.log.Warn("mqtt event queue full: dropped the oldest event", "dropped_total", n)
		}
	}
	l.kick()
}

// isPowerOf10 thins out repeated warnings: 1, 10, 100, 1000...
func isPowerOf10(n int64) bool {
	for n >= 10 && n%10 == 0 {
		n /= 10
	}
	return n == 1
}

func (l *Link) kick() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Close publishes the states and events still queued and the retained
// "offline" status, then disconnects, all within ctx; what does not fit in
// ctx is abandoned (the broker then has "offline" from the Will only if the
// connection drops abnormally). It returns ctx.Err() if the deadline cut the
// flush short. Later calls wait for the first and return its result.
func (l *Link) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		close(l.closing)
		defer close(l.closed)
		if !l.started.Load() {
			return
		}
		select {
		case <-l.pubDone:
		case <-ctx.Done():
		}
		if l.acquire(ctx.Done()) {
			if l.up.Load() && l.client.IsConnectionOpen() {
				l.flush(ctx.Done())
				t := l.client.Publish(l.topics.Status(l.opts.Station), 1, true, "offline")
				if !waitToken(t, ctx.Done(), l.opts.PublishTimeout) {
					l.closeErr = errors.New("mqttlink: offline status not confirmed before the deadline")
				}
			}
			l.release()
		}
		quiesce := 250 * time.Millisecond
		if dl, ok := ctx.Deadline(); ok {
			quiesce = min(quiesce, max(time.Until(dl), 0))
		}
		l.client.Disconnect(uint(quiesce.Milliseconds()))
		l.setUp(false, nil)
		if err := ctx.Err(); err != nil && l.closeErr == nil {
			l.closeErr = fmt.Errorf("mqttlink: close: %w", err)
		}
		l.log.Info("mqtt link closed")
	})
	select {
	case <-l.closed:
		return l.closeErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// acquire takes pubSem unless abort fires first.
func (l *Link) acquire(abort <-chan struct{}) bool {
	select {
	case l.pubSem <- struct{}{}:
		return true
	case <-abort:
		return false
	}
}

func (l *Link) release() { <-l.pubSem }

// publisher is the one goroutine that drains states, info and events.
func (l *Link) publisher() {
	defer close(l.pubDone)
	for {
		select {
		case <-l.wake:
		case <-l.closing:
			return
		}
		if l.up.Load() && l.acquire(l.closing) {
			l.flush(l.closing)
			l.release()
		}
	}
}

// pubItem is one publish of a batch.
type pubItem struct {
	topic  string
	state  *State // set for a state, to re-queue it if the publish fails
	retain bool
	tok    paho.Token
}

// flush publishes what is queued until nothing is left, the link goes down
// or abort fires. pubSem is held.
func (l *Link) flush(abort <-chan struct{}) {
	const maxEvents = 256
	var evs []Event
	for l.up.Load() && l.client.IsConnectionOpen() {
		l.stMu.Lock()
		info := l.info
		l.info = nil
		states := make([]State, 0, len(l.pending))
		for _, s := range l.pending {
			states = append(states, s)
		}
		clear(l.pending)
		l.stMu.Unlock()
		evs = l.events.popN(evs[:0], maxEvents)
		if info == nil && len(states) == 0 && len(evs) == 0 {
			return
		}
		slices.SortFunc(states, func(a, b State) int {
			if a.Channel < b.Channel {
				return -1
			}
			if a.Channel > b.Channel {
				return 1
			}
			return 0
		})

		items := make([]pubItem, 0, len(states)+len(evs)+1)
		if info != nil {
			items = l.publish(items, l.topics.Info(l.opts.Station), true, l.fillInfo(*info), nil)
		}
		for i := range states {
			items = l.publish(items, l.topics.State(states[i].Channel), true, states[i], &states[i])
		}
		for _, e := range evs {
			items = l.publish(items, l.topics.Event(e.Channel), false, e, nil)
		}
		if !l.await(items, abort) {
			return
		}
	}
}

// publish marshals v and hands it to paho at QoS 1.
func (l *Link) publish(items []pubItem, topic string, retain bool, v any, s *State) []pubItem {
	b, err := json.Marshal(v)
	if err != nil {
		l.pubFailures.Add(1)
		l.log.Error("mqtt: cannot encode payload", "topic", topic, "err", err)
		return items
	}
	t := l.client.Publish(topic, 1, retain, b)
	return append(items, pubItem{topic: topic, state: s, retain: retain, tok: t})
}

// await waits for the PUBACKs of items within PublishTimeout (real time).
// A state whose publish failed outright is queued again unless a newer one
// is waiting. It reports false when abort fired.
func (l *Link) await(items []pubItem, abort <-chan struct{}) bool {
	timer := time.NewTimer(l.opts.PublishTimeout)
	defer timer.Stop()
	aborted, timedOut := false, false
	for _, it := range items {
		if !aborted && !timedOut {
			select {
			case <-it.tok.Done():
			case <-timer.C:
				timedOut = true
			case <-abort:
				aborted = true
			}
		}
		done := false
		select {
		case <-it.tok.Done():
			done = true
		default:
		}
		switch {
		case done && it.tok.Error() == nil:
		case done:
			l.pubFailures.Add(1)
			l.log.Warn("mqtt publish failed", "topic", it.topic, "err", it.tok.Error())
			if it.state != nil {
				l.requeue(*it.state)
			}
		default:
			// Still in paho's store: it is resent after a reconnect, and
			// retained state is republished from the snapshot anyway.
			l.pubFailures.Add(1)
			l.log.Debug("mqtt publish not acknowledged in time", "topic", it.topic)
		}
	}
	return !aborted
}

// requeue puts back a state whose publish failed, unless a newer one waits.
func (l *Link) requeue(s State) {
	l.stMu.Lock()
	if _, newer := l.pending[s.Channel]; !newer {
		l.pending[s.Channel] = s
	}
	l.stMu.Unlock()
}

// fillInfo adds what the link knows to the station's Info.
func (l *Link) fillInfo(info Info) Info {
	if info.Show == "" {
		info.Show = l.opts.Show
	}
	info.DroppedEvents = l.dropped.Load()
	info.MQTT = &MQTTInfo{
		ClientID:         l.opts.ClientID,
		Broker:           l.opts.Broker,
		Connects:         l.connects.Load(),
		CommandsRejected: l.cmdRejected.Load(),
		CommandsDropped:  l.cmdDropped.Load(),
		PublishFailures:  l.pubFailures.Load(),
	}
	return info
}

// onConnect runs (in its own goroutine) after every successful CONNECT: it
// republishes online, info and every state, then subscribes.
func (l *Link) onConnect(c paho.Client) {
	l.store.await(l.attempt.Load(), l.closing, l.opts.PublishTimeout)
	if !l.acquire(l.closing) {
		return
	}
	defer l.release()
	n := l.connects.Add(1)

	items := make([]pubItem, 0, 2+len(l.opts.Channels))
	t := c.Publish(l.topics.Status(l.opts.Station), 1, true, "online")
	items = append(items, pubItem{topic: l.topics.Status(l.opts.Station), tok: t})

	if l.opts.Snapshot != nil {
		// A PublishInfo made after this point is newer than the snapshot and
		// stays queued; one made before is superseded by the snapshot.
		l.stMu.Lock()
		l.info = nil
		l.stMu.Unlock()
		info, states := l.opts.Snapshot()
		items = l.publish(items, l.topics.Info(l.opts.Station), true, l.fillInfo(info), nil)
		for i := range states {
			s := &states[i]
			l.stMu.Lock()
			p, ok := l.pending[s.Channel]
			if ok && p.Epoch == s.Epoch && p.Seq > s.Seq {
				l.stMu.Unlock()
				continue // a newer state is queued: the publisher sends it next
			}
			delete(l.pending, s.Channel)
			l.stMu.Unlock()
			items = l.publish(items, l.topics.State(s.Channel), true, *s, s)
		}
	}
	if !l.await(items, l.closing) {
		return
	}

	filters := map[string]byte{l.topics.AllCmd(): 1}
	for _, ch := range l.opts.Channels {
		filters[l.topics.Cmd(ch)] = 1
	}
	var subErr error
	st := c.SubscribeMultiple(filters, l.onMessage)
	switch {
	case !waitToken(st, l.closing, l.opts.PublishTimeout):
		subErr = fmt.Errorf("mqttlink: subscribe to command topics not confirmed: %v", st.Error())
	default:
		for topic, code := range st.(*paho.SubscribeToken).Result() {
			if code > 2 {
				subErr = fmt.Errorf("mqttlink: broker refused subscription to %s (code %#x)", topic, code)
			}
		}
	}
	if subErr != nil {
		// States and events still flow; commands cannot arrive until the
		// next reconnect subscribes again. Say so loudly.
		l.log.Error("mqtt command topics not subscribed: MQTT commands will not arrive", "err", subErr)
	}
	l.log.Info("mqtt connected", "broker", l.opts.Broker, "connects", n)
	l.setUp(true, subErr)
	l.kick()
}

// onLost runs (in its own goroutine) when an established connection drops.
func (l *Link) onLost(_ paho.Client, err error) {
	l.log.Warn("mqtt connection lost; reconnecting", "err", err)
	l.setUp(false, err)
}

// onNotification logs failed connection attempts (once until the next
// success, then at debug level). It runs on paho's goroutines: no blocking.
func (l *Link) onNotification(_ paho.Client, n paho.ConnectionNotification) {
	switch n := n.(type) {
	case paho.ConnectionNotificationConnecting:
		l.attempt.Store(l.store.count())
	case paho.ConnectionNotificationFailed:
		l.noteFailure(n.Reason)
	case paho.ConnectionNotificationBrokerFailed:
		l.noteFailure(n.Reason)
	}
}

func (l *Link) noteFailure(err error) {
	if err == nil {
		return
	}
	if old := l.lastErr.Swap(&err); old == nil {
		l.log.Warn("mqtt broker unreachable; retrying", "broker", l.opts.Broker, "err", err)
		l.notify(Status{Connected: false, Err: err})
	} else {
		l.log.Debug("mqtt connection attempt failed", "err", err)
	}
}

func (l *Link) setUp(up bool, err error) {
	l.statusMu.Lock()
	defer l.statusMu.Unlock()
	if up {
		l.lastErr.Store(nil)
	}
	if l.up.Swap(up) == up && err == nil {
		return
	}
	l.notifyLocked(Status{Connected: up, Err: err})
}

func (l *Link) notify(s Status) {
	l.statusMu.Lock()
	defer l.statusMu.Unlock()
	l.notifyLocked(s)
}

// notifyLocked replaces the pending Status with s. statusMu is held.
func (l *Link) notifyLocked(s Status) {
	select {
	case <-l.status:
	default:
	}
	l.status <- s // cannot block: cap 1, emptied above, writers serialised
}

// onMessage validates a message on a command topic and hands it to the
// station. It runs on paho's router goroutine: it must not block.
func (l *Link) onMessage(_ paho.Client, m paho.Message) {
	ch, ok := l.topics.cmdChannel(m.Topic())
	if !ok || (ch != "" && !l.channels[ch]) {
		return // not a command topic of this station
	}
	in := l.val.check(ch, m.Topic(), m.Payload(), m.Retained())
	if in.Rejected {
		l.cmdRejected.Add(1)
		l.log.Info("mqtt command rejected", "topic", in.Topic, "id", in.Cmd.ID, "cmd", in.Cmd.Cmd, "reason", in.Reason)
	}
	select {
	case l.cmds <- in:
	default:
		if n := l.cmdDropped.Add(1); isPowerOf10(n) {
			l.log.Warn("mqtt command dropped: the station's command intake is full",
				"topic", in.Topic, "id", in.Cmd.ID, "cmd", in.Cmd.Cmd, "dropped_total", n)
		}
	}
}

// waitToken waits for t within d (real time) or until abort; it reports
// whether t completed without error.
func waitToken(t paho.Token, abort <-chan struct{}, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-t.Done():
		return t.Error() == nil
	case <-timer.C:
		return false
	case <-abort:
		return false
	}
}

// gateStore is paho's packet store with one addition: it tells when paho
// has listed the stored packets (All, on a reconnect) or reset the store
// (Reset, on the first connection).
//
// Why: paho v1.5.1 starts the OnConnect handler before that happens. A
// publish made in that window is then both sent by the publish and resent
// by paho's resume() with the DUP flag set while paho's writer goroutine is
// still encoding it: a data race inside paho (paho issues #657, #703) and a
// duplicate message. onConnect therefore waits (briefly) for the All or
// Reset of its connection before publishing.
type gateStore struct {
	paho.Store
	mu sync.Mutex
	n  uint64        // All and Reset calls so far
	ch chan struct{} // closed at the next All or Reset
}

func newGateStore(s paho.Store) *gateStore {
	return &gateStore{Store: s, ch: make(chan struct{})}
}

// All lists the stored keys (paho's resume after a reconnect).
func (g *gateStore) All() []string {
	keys := g.Store.All()
	g.bump()
	return keys
}

// Reset empties the store (paho's first connection with a clean session).
func (g *gateStore) Reset() {
	g.Store.Reset()
	g.bump()
}

func (g *gateStore) bump() {
	g.mu.Lock()
	g.n++
	close(g.ch)
	g.ch = make(chan struct{})
	g.mu.Unlock()
}

func (g *gateStore) count() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// await waits until All or Reset has been called more than since times, or
// until abort or the timeout (real time).
func (g *gateStore) await(since uint64, abort <-chan struct{}, timeout time.Duration) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		g.mu.Lock()
		n, ch := g.n, g.ch
		g.mu.Unlock()
		if n > since {
			return
		}
		select {
		case <-ch:
		case <-abort:
			return
		case <-timer.C:
			return
		}
	}
}
