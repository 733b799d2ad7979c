// Package mqttlink is a station's MQTT client: it publishes the station's
// status, info, channel states and events (docs/protocol.md §4) and takes commands from
// <prefix>/channel/<ch>/cmd and <prefix>/all/cmd.
//
// It is built so that MQTT can never stall or re-fire the cue path:
//
//   - Start returns at once; the station runs with the broker down, and the
//     link connects (and reconnects) in the background. Connected and Status
//     report the link.
//   - PublishState, PublishEvent and PublishInfo never block and take no lock
//     that a paho callback or network I/O holds. They hand over to one
//     publisher goroutine, which publishes at QoS 1 in hand-over order and
//     never waits for an acknowledgement before the next publish: up to
//     Options.Window publishes are in flight at once, and another goroutine
//     collects their PUBACKs. Only when that window is full (the broker, or
//     the network to it, really is behind) does a channel's new state replace
//     its queued one ("latest wins"; the latest state per channel is always
//     eventually published, retained); events go through a bounded queue
//     that drops the OLDEST event when full, counts it and logs it. Nothing
//     is published while disconnected: states stay coalesced and events stay
//     queued until the next connection.
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
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
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
	DefaultWindow               = 256
)

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("mqttlink: link closed")

// Options configures a Link. Station is required; everything else has a
// default.
type Options struct {
	// Broker is the broker URL: tcp://, ssl://, ws://, wss://...
	// Default DefaultBroker, the embedded broker.
	Broker string
	// Brokers, when set, are several broker URLs in order of preference
	// (Broker is then ignored): the link connects to the first that
	// answers, moves to the next when it fails, and back to the first
	// when that answers again (checked every FailbackInterval, default 5 s).
	Brokers          []string
	FailbackInterval time.Duration
	// ShowWide subscribes to every channel's state and events and every
	// station's status and info, delivered on Show: the station's view of
	// the whole show.
	ShowWide bool
	// ShowChannels, with ShowWide, are the channels whose state and events
	// the view takes; nil takes every channel. A station passes the show's
	// channels that other stations own: it has its own first-hand, and
	// taking them back from the broker would double its MQTT traffic
	// (every state and event it publishes would come back to it).
	ShowChannels []string
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
	// ClockSkew is the tolerance when judging a command's ts (the show
	// file's mqtt.clock_skew): a command is stale when older than ttl_ms +
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
	// PublishTimeout bounds the wait for one PUBACK, default 3 s. A publish
	// not acknowledged in time frees its place in the window (paho resends
	// it after a reconnect) and counts as a publish failure.
	PublishTimeout time.Duration
	// Window is the number of QoS 1 publishes in flight at once (sent, not
	// yet acknowledged), default 256: at 100 state changes per second, each
	// with its event, about 1.3 s of a broker that does not acknowledge
	// (a stall, a slow network) before anything is coalesced. States are
	// coalesced only when it is full. Keep it well below the broker's
	// receive maximum (the embedded broker's is 1024).
	Window int
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

	// Hot path: out's lock is held only to queue or take an item, never
	// during I/O.
	out     *outbox
	wake    chan struct{} // cap 1: work for the publisher
	markers markerQueue   // performance markers (marker.go)

	// pubSem serialises publishing (publisher goroutine, OnConnect, Close)
	// so that retained states go out in the order they were taken.
	pubSem chan struct{}
	// slots is the in-flight window: the publisher puts a token in before
	// each publish, the acker takes it out when the PUBACK is in (or the
	// wait ends). acks carries the publishes to the acker, in order.
	slots    chan struct{}
	acks     chan pubItem
	ackAbort chan struct{} // closed when Close gives up waiting for PUBACKs
	ackDone  chan struct{}

	store   *gateStore
	attempt atomic.Uint64 // store.count() when the latest connection attempt began

	statusMu sync.Mutex // serialises Status notifications
	up       atomic.Bool
	lastErr  atomic.Pointer[error]

	dropped, coalesced, cmdDropped, cmdRejected, connects, pubFailures atomic.Int64

	show        chan ShowMessage // nil without ShowWide
	showDropped atomic.Int64
	cmdOut      chan outCmd            // forwarded commands (PublishCommand)
	broker      atomic.Pointer[string] // the broker of the latest connection attempt

	started   atomic.Bool
	closing   chan struct{}
	closeOnce sync.Once
	closed    chan struct{} // closed when Close has finished
	closeErr  error
	pubDone   chan struct{}
	abortOnce sync.Once
}

// New checks opts and builds a Link; it does not connect (see Start).
func New(opts Options) (*Link, error) {
	if opts.Station == "" {
		return nil, errors.New("mqttlink: Options.Station is required")
	}
	if len(opts.Brokers) > 0 {
		opts.Broker = opts.Brokers[0]
	}
	if opts.Broker == "" {
		opts.Broker = DefaultBroker
	}
	if len(opts.Brokers) == 0 {
		opts.Brokers = []string{opts.Broker}
	}
	for _, b := range opts.Brokers {
		u, err := url.Parse(b)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("mqttlink: broker %q is not a URL like tcp://host:1883", b)
		}
	}
	setDefault(&opts.FailbackInterval, 5*time.Second)
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
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}

	l := &Link{
		opts:     opts,
		topics:   Topics{Prefix: opts.TopicPrefix},
		log:      opts.Logger.With("station", opts.Station),
		val:      newValidator(opts.Clock, opts.ClockSkew),
		channels: make(map[string]bool, len(opts.Channels)),
		cmds:     make(chan Inbound, opts.CommandQueue),
		status:   make(chan Status, 1),
		out:      newOutbox(opts.QueueSize),
		wake:     make(chan struct{}, 1),
		pubSem:   make(chan struct{}, 1),
		slots:    make(chan struct{}, opts.Window),
		acks:     make(chan pubItem, opts.Window),
		ackAbort: make(chan struct{}),
		ackDone:  make(chan struct{}),
		closing:  make(chan struct{}),
		closed:   make(chan struct{}),
		pubDone:  make(chan struct{}),
		cmdOut:   make(chan outCmd, 256),
	}
	if opts.ShowWide {
		l.show = make(chan ShowMessage, 4096)
	}
	for _, ch := range opts.Channels {
		l.channels[ch] = true
	}
	l.store = newGateStore(paho.NewOrderedMemoryStore())

	co := paho.NewClientOptions()
	for _, b := range opts.Brokers {
		co.AddBroker(b)
	}
	co.SetConnectionAttemptHandler(l.onAttempt).
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
	go l.acker()
	go l.commandPublisher()
	if len(l.opts.Brokers) > 1 {
		fctx, cancel := context.WithCancel(context.Background())
		go func() { <-l.closing; cancel() }()
		go l.failback(fctx)
	}
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

// PublishState queues s for publication, retained at QoS 1, on
// <prefix>/channel/<s.Channel>/state. Every state is published, in order,
// unless the in-flight window is full: then s replaces the queued state of
// its channel, if there is one (counted and logged at the 1st, 10th,
// 100th... time). It never blocks.
func (l *Link) PublishState(s State) {
	if l.out.putState(s, len(l.slots), l.opts.Window) {
		if n := l.coalesced.Add(1); isPowerOf10(n) {
			l.log.Warn("mqtt window full: a newer state replaced one not yet published", "channel", s.Channel, "coalesced_total", n)
		}
	}
	l.kick()
}

// PublishInfo queues info for publication, retained at QoS 1, replacing any
// info not yet published. It never blocks.
func (l *Link) PublishInfo(info Info) {
	l.out.putInfo(info)
	l.kick()
}

// PublishEvent queues e for publication at QoS 1 on
// <prefix>/channel/<e.Channel>/event. It never blocks: when the queue is
// full the oldest queued event is dropped, counted (info's dropped_events)
// and logged (at 1, 10, 100... drops).
func (l *Link) PublishEvent(e Event) {
	if l.out.putEvent(e) {
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
// "offline" status, waits for their acknowledgements, then disconnects,
// all within ctx; what does not fit in ctx is abandoned (the broker then
// has "offline" from the Will only if the connection drops abnormally). It
// returns ctx.Err() if the deadline cut the flush short. Later calls wait
// for the first and return its result.
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
			// Connected, even if the on-connect work has not finished
			// (a stop right after connecting): "online" may be out
			// already, and a clean disconnect sends no Will, so
			// "offline" is published in any case. Not before paho has
			// listed its store (see gateStore).
			if l.client.IsConnectionOpen() {
				l.store.await(l.attempt.Load(), ctx.Done(), l.opts.PublishTimeout)
			}
			if l.client.IsConnectionOpen() {
				var items []pubItem
				for {
					it, ok := l.out.pop()
					if !ok {
						break
					}
					if p, ok := l.publish(it); ok {
						items = append(items, p)
					}
				}
				t := l.client.Publish(l.topics.Status(l.opts.Station), 1, true, "offline")
				items = append(items, pubItem{topic: l.topics.Status(l.opts.Station), tok: t})
				if !l.await(items, ctx.Done()) || t.Error() != nil || !isDone(t) {
					l.closeErr = errors.New("mqttlink: offline status not confirmed before the deadline")
				}
			}
			l.release()
		}
		// The window's publishes went out before the flush: their PUBACKs
		// are in by now, or are not coming within ctx.
		select {
		case <-l.ackDone:
		case <-ctx.Done():
			l.abortAcks()
			<-l.ackDone
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

func (l *Link) abortAcks() { l.abortOnce.Do(func() { close(l.ackAbort) }) }

func isDone(t paho.Token) bool {
	select {
	case <-t.Done():
		return true
	default:
		return false
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

// publisher is the one goroutine that publishes states, info and events as
// they are handed over: it takes a place in the window, then the next
// item, publishes it and passes its token to the acker, without waiting
// for the PUBACK. When the window is full it waits for a place, and
// meanwhile new states coalesce in the outbox.
func (l *Link) publisher() {
	defer close(l.pubDone)
	defer close(l.acks) // the acker ends once it has collected the rest
	for {
		select {
		case <-l.wake:
		case <-l.closing:
			return
		}
		for l.up.Load() {
			select {
			case l.slots <- struct{}{}:
			case <-l.closing:
				return
			}
			if !l.acquire(l.closing) {
				<-l.slots
				return
			}
			var (
				p   pubItem
				ok  bool
				got bool
			)
			if l.up.Load() && l.client.IsConnectionOpen() {
				var it outItem
				if it, got = l.out.pop(); got {
					p, ok = l.publish(it)
					// paho's writer, just handed the packet, writes
					// it before this goroutine carries on (with one
					// core it would otherwise wait behind the acker).
					runtime.Gosched()
				}
			}
			l.release()
			if !ok {
				<-l.slots
				if !got {
					break // nothing queued, or the link went down
				}
				continue // an item that could not be encoded
			}
			p.deadline = time.Now().Add(l.opts.PublishTimeout)
			l.acks <- p // never blocks: cap Window, and a slot is held
		}
	}
}

// acker collects the PUBACKs of the publisher's publishes, in order, and
// frees their places in the window.
func (l *Link) acker() {
	defer close(l.ackDone)
	for p := range l.acks {
		l.settle(p, l.ackAbort)
		<-l.slots
	}
}

// pubItem is one publish in flight.
type pubItem struct {
	topic    string
	state    *State // set for a state, to re-queue it if the publish fails
	tok      paho.Token
	deadline time.Time // for the acker; zero in await's batches
}

// publish marshals it and hands it to paho at QoS 1; false when it cannot
// be encoded.
func (l *Link) publish(it outItem) (pubItem, bool) {
	var (
		topic  string
		retain bool
		b      []byte
		err    error
	)
	switch {
	case it.info != nil:
		topic, retain = l.topics.Info(l.opts.Station), true
		b, err = json.Marshal(l.fillInfo(*it.info))
	case it.state != nil:
		topic, retain = l.topics.State(it.state.Channel), true
		b = it.state.AppendJSON(make([]byte, 0, 256)) // no reflection: payloadjson.go
	default:
		topic = l.topics.Event(it.event.Channel)
		b = it.event.AppendJSON(make([]byte, 0, 320))
	}
	if err != nil {
		l.pubFailures.Add(1)
		l.log.Error("mqtt: cannot encode payload", "topic", topic, "err", err)
		return pubItem{}, false
	}
	t := l.client.Publish(topic, 1, retain, b)
	return pubItem{topic: topic, state: it.state, tok: t}, true
}

// settle waits for p's PUBACK until its deadline (real time) or abort, and
// deals with the outcome: a state whose publish failed outright is queued
// again unless a newer one is waiting. It reports false when abort fired.
func (l *Link) settle(p pubItem, abort <-chan struct{}) bool {
	aborted := false
	if !isDone(p.tok) {
		timer := time.NewTimer(time.Until(p.deadline))
		select {
		case <-p.tok.Done():
		case <-timer.C:
		case <-abort:
			aborted = true
		}
		timer.Stop()
	}
	switch {
	case isDone(p.tok) && p.tok.Error() == nil:
	case isDone(p.tok):
		l.pubFailures.Add(1)
		l.log.Warn("mqtt publish failed", "topic", p.topic, "err", p.tok.Error())
		if p.state != nil {
			l.out.requeue(*p.state)
			l.kick()
		}
	default:
		// Still in paho's store: it is resent after a reconnect, and
		// retained state is republished from the snapshot anyway.
		l.pubFailures.Add(1)
		l.log.Debug("mqtt publish not acknowledged in time", "topic", p.topic)
	}
	return !aborted
}

// await settles a batch of publishes made together, within PublishTimeout
// (real time) from now. It reports false when abort fired.
func (l *Link) await(items []pubItem, abort <-chan struct{}) bool {
	deadline := time.Now().Add(l.opts.PublishTimeout)
	ok := true
	for _, p := range items {
		p.deadline = deadline
		if !ok {
			p.deadline = time.Time{} // already aborted: only classify
		}
		if !l.settle(p, abort) {
			ok = false
		}
	}
	return ok
}

// fillInfo adds what the link knows to the station's Info.
func (l *Link) fillInfo(info Info) Info {
	if info.Show == "" {
		info.Show = l.opts.Show
	}
	info.DroppedEvents = l.dropped.Load()
	info.MQTT = &MQTTInfo{
		ClientID:         l.opts.ClientID,
		Broker:           l.Broker(),
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
		l.out.takeInfo()
		info, states := l.opts.Snapshot()
		if p, ok := l.publish(outItem{info: &info}); ok {
			items = append(items, p)
		}
		for i := range states {
			s := &states[i]
			if l.out.supersede(*s) {
				continue // a newer state is queued: the publisher sends it next
			}
			if p, ok := l.publish(outItem{state: s}); ok {
				items = append(items, p)
			}
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
	// A broker that is still recovering (a NATS cluster electing new
	// leaders after losing a node) may leave a subscription unconfirmed
	// for seconds on a connection that stays up: try again while it is
	// open, rather than stay without commands until the next reconnect.
	for try := 1; ; try++ {
		subErr = nil
		st := c.SubscribeMultiple(filters, l.onMessage)
		confirmed := waitToken(st, l.closing, l.opts.PublishTimeout)
		switch {
		case !confirmed:
			subErr = fmt.Errorf("mqttlink: subscribe to command topics not confirmed: %v", st.Error())
		default:
			for topic, code := range st.(*paho.SubscribeToken).Result() {
				if code > 2 {
					subErr = fmt.Errorf("mqttlink: broker refused subscription to %s (code %#x)", topic, code)
				}
			}
		}
		if confirmed || try >= subscribeTries || !c.IsConnectionOpen() || l.isClosing() {
			break
		}
		l.log.Warn("mqtt command subscription not confirmed; trying again", "try", try, "err", subErr)
	}
	if subErr != nil {
		// States and events still flow; commands cannot arrive until the
		// next reconnect subscribes again. Say so loudly.
		l.log.Error("mqtt command topics not subscribed: MQTT commands will not arrive", "err", subErr)
	}
	if l.opts.ShowWide {
		err := l.subscribeShow(c)
		for try := 1; err != nil && try < subscribeTries && c.IsConnectionOpen() && !l.isClosing(); try++ {
			l.log.Warn("mqtt show-wide subscription not confirmed; trying again", "try", try, "err", err)
			err = l.subscribeShow(c)
		}
		if err != nil {
			l.log.Error("mqtt show-wide topics not subscribed: other stations' channels will not be seen", "err", err)
		}
	}
	l.log.Info("mqtt connected", "broker", l.Broker(), "connects", n)
	l.setUp(true, subErr)
	l.kick()
}

// subscribeTries is how many times a subscription that the broker does
// not confirm is sent on one connection.
const subscribeTries = 10

// isClosing reports whether Close has begun.
func (l *Link) isClosing() bool {
	select {
	case <-l.closing:
		return true
	default:
		return false
	}
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
		l.log.Warn("mqtt broker unreachable; retrying", "broker", l.Broker(), "err", err)
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

// Put stores a PUBLISH as a copy, and Get returns one: the packet paho
// writes to the network and the one its resume reads after a reconnect
// are then never the same. paho's writer mutates a PUBLISH as it writes it
// (its remaining length) and resume sets the DUP flag of what it reads
// from the store, while a Publish made just before the connection was
// lost can still be on its way to the new connection's writer (paho
// issues #657, #703): with one shared packet that is a data race, which
// the race detector caught when two stations with one client id took the
// broker from each other (cmd/cuelightd TestShowGatewayStartedTwice).
// Put's copy is made before paho hands the packet to its writer.
func (g *gateStore) Put(key string, m packets.ControlPacket) {
	g.Store.Put(key, copyPublish(m))
}

// Get returns a stored packet; a PUBLISH as a copy (see Put).
func (g *gateStore) Get(key string) packets.ControlPacket {
	return copyPublish(g.Store.Get(key))
}

// copyPublish returns a copy of a PUBLISH (its payload shared: nobody
// writes to it) and any other packet as it is.
func copyPublish(m packets.ControlPacket) packets.ControlPacket {
	if pub, ok := m.(*packets.PublishPacket); ok {
		c := *pub
		return &c
	}
	return m
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
