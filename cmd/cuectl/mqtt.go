package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/showview"
	"github.com/cuelight/cuelight/internal/tlsconf"
)

// inMsg is one MQTT message received, or a change of the connection
// (conn set).
type inMsg struct {
	topic    string
	payload  []byte
	retained bool
	conn     string // "connected" or "lost: <reason>"
}

// mqttSession is cuectl's connection to the show's broker: it subscribes
// to every station's status and info and every channel's state and
// event, and hands them over, in order, on in.
type mqttSession struct {
	url     string
	prefix  string
	topics  mqttlink.Topics
	client  mqtt.Client
	in      chan inMsg
	dropped atomic.Int64 // messages lost because in was full (a reader far behind)
}

// inQueue bounds the messages waiting for cuectl to read them.
const inQueue = 4096

// dialMQTT connects and subscribes. With reconnect (watch) the session
// reconnects and resubscribes by itself after a lost connection.
func (c *cli) dialMQTT(ctx context.Context, o *opts, reconnect bool) (*mqttSession, error) {
	url := o.brokerURL()
	s := &mqttSession{url: url, prefix: o.topicPrefix(), in: make(chan inMsg, inQueue)}
	s.topics = mqttlink.Topics{Prefix: s.prefix}
	user, password := o.user, o.password
	if user == "" {
		user = c.getenv("CUELIGHT_MQTT_USER")
	}
	if password == "" {
		password = c.getenv("CUELIGHT_MQTT_PASSWORD")
	}
	filters := map[string]byte{
		s.prefix + "/station/+/status": 1,
		s.prefix + "/station/+/info":   1,
		s.prefix + "/channel/+/state":  1,
		s.prefix + "/channel/+/event":  1,
	}
	subscribed := make(chan error, 1)
	push := func(m inMsg) {
		select {
		case s.in <- m:
		default:
			s.dropped.Add(1)
		}
	}
	handler := func(_ mqtt.Client, m mqtt.Message) {
		push(inMsg{topic: m.Topic(), payload: m.Payload(), retained: m.Retained()})
	}
	var again atomic.Bool // false until the first connection is set up
	mo := mqtt.NewClientOptions().
		AddBroker(url).
		SetClientID(newID("cuectl")).
		SetUsername(user).SetPassword(password).
		SetCleanSession(true).
		SetOrderMatters(true). // the handler only queues: it never blocks
		SetAutoReconnect(reconnect).SetMaxReconnectInterval(2 * time.Second).
		SetConnectTimeout(o.timeout).
		SetDialer(&net.Dialer{Timeout: o.timeout}).
		SetKeepAlive(10 * time.Second).SetPingTimeout(5 * time.Second).
		SetDefaultPublishHandler(handler).
		SetOnConnectHandler(func(cl mqtt.Client) {
			t := cl.SubscribeMultiple(filters, handler)
			var err error
			if !t.WaitTimeout(o.timeout) {
				err = context.DeadlineExceeded
			} else {
				err = t.Error()
			}
			if !again.Swap(true) {
				subscribed <- err
				return
			}
			push(inMsg{conn: "connected"})
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			push(inMsg{conn: "lost: " + connLostReason(err)})
		})
	tc, err := c.brokerTLS(o, url)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		mo.SetTLSConfig(tc)
	}
	s.client = mqtt.NewClient(mo)
	t := s.client.Connect()
	select {
	case <-t.Done():
	case <-ctx.Done():
		s.client.Disconnect(0)
		return nil, ctx.Err()
	}
	if err := t.Error(); err != nil {
		return nil, mqttProblem(url, err, o.timeout)
	}
	select {
	case err := <-subscribed:
		if err != nil {
			s.client.Disconnect(0)
			return nil, fail(exitUnreachable, "broker %s did not accept cuectl's subscriptions (%v): does this user have read access to %s/#?", url, err, s.prefix)
		}
	case <-ctx.Done():
		s.client.Disconnect(0)
		return nil, ctx.Err()
	}
	return s, nil
}

// brokerTLS is the TLS set-up for ssl://, tls://, mqtts:// and wss://
// brokers (nil for the others): the show file's mqtt.tls settings, built
// as the station builds them. A CA or certificate file that cannot be used
// is an error naming its key, never a silent fall-back to the system roots.
func (c *cli) brokerTLS(o *opts, url string) (*tls.Config, error) {
	if !strings.HasPrefix(url, "ssl://") && !strings.HasPrefix(url, "tls://") &&
		!strings.HasPrefix(url, "mqtts://") && !strings.HasPrefix(url, "wss://") {
		return nil, nil
	}
	var tc *tls.Config
	if o.cfg != nil {
		var err error
		if tc, err = tlsconf.Client(o.cfg.MQTT.TLS); err != nil {
			return nil, fail(exitUsage, "cannot use the show file's TLS settings for broker %s: %v (fix the show file %s, or give another with --config)",
				url, strings.TrimPrefix(err.Error(), "tlsconf: "), o.cfgPath)
		}
	}
	if tc == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return tc, nil
}

// close disconnects, letting a publish in flight finish.
func (s *mqttSession) close() { s.client.Disconnect(100) }

// publish sends a command (QoS 1, never retained: docs/protocol.md §4) and waits for
// the broker to take it.
func (s *mqttSession) publish(ctx context.Context, topic string, cmd mqttlink.Command) error {
	b, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	t := s.client.Publish(topic, 1, false, b)
	select {
	case <-t.Done():
		if err := t.Error(); err != nil {
			return fail(exitUnreachable, "broker %s did not take the command: %v", s.url, err)
		}
		return nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.Canceled) {
			return interrupted()
		}
		return fail(exitUnreachable, "broker %s did not acknowledge the command in time: %s", s.url, brokerHint)
	}
}

// newID returns a fresh identifier: prefix, '-', 16 hex digits.
func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// stationView is what the broker says about one station.
type stationView struct {
	name   string
	status string         // "online", "offline", "" (nothing retained)
	info   *mqttlink.Info // nil until received
}

// channelView is what the broker says about one channel.
type channelView struct {
	name    string
	state   *mqttlink.State // nil until received
	ackMS   int64           // the last ack's time from standby, valid when hasAck
	hasAck  bool
	fault   string // the last fault's reason, until the channel is used again
	faultAt string
	note    string // the last refused or rejected reason, until the next change
}

// showView is the show as the broker tells it: the model behind watch, and
// what send and check read states from. It is used from one goroutine.
type showView struct {
	prefix   string
	config   []string // the show file's channel order, if any
	stations map[string]*stationView
	channels map[string]*channelView
	events   []eventLine // the newest last, at most maxEvents
	conn     string      // the broker connection: "connected" or "lost: ..."
}

// eventLine is one event kept for watch's event list.
type eventLine struct {
	ev mqttlink.Event
}

const maxEvents = 200

func newShowView(prefix string, configOrder []string) *showView {
	return &showView{
		prefix: prefix, config: configOrder, conn: "connected",
		stations: map[string]*stationView{}, channels: map[string]*channelView{},
	}
}

// update is what one message changed.
type update struct {
	kind     string // status, info, state, event, conn
	station  string
	channel  string
	state    *mqttlink.State
	event    *mqttlink.Event
	retained bool
	prev     *stationView // status/info: the station before the change (a copy)
}

func (v *showView) station(name string) *stationView {
	s := v.stations[name]
	if s == nil {
		s = &stationView{name: name}
		v.stations[name] = s
	}
	return s
}

func (v *showView) channel(name string) *channelView {
	c := v.channels[name]
	if c == nil {
		c = &channelView{name: name}
		v.channels[name] = c
	}
	return c
}

// apply takes one message into the view. ok is false for messages that
// are not cuelight's (or do not parse).
func (v *showView) apply(m inMsg) (u update, ok bool) {
	if m.conn != "" {
		v.conn = m.conn
		return update{kind: "conn"}, true
	}
	rest, ok := strings.CutPrefix(m.topic, v.prefix+"/")
	if !ok {
		return u, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[1] == "" {
		return u, false
	}
	u.retained = m.retained
	switch parts[0] + "/" + parts[2] {
	case "station/status":
		s := v.station(parts[1])
		prev := *s
		s.status = string(m.payload)
		return update{kind: "status", station: s.name, prev: &prev, retained: m.retained}, true
	case "station/info":
		var info mqttlink.Info
		if json.Unmarshal(m.payload, &info) != nil {
			return u, false
		}
		s := v.station(parts[1])
		prev := *s
		s.info = &info
		return update{kind: "info", station: s.name, prev: &prev, retained: m.retained}, true
	case "channel/state":
		var st mqttlink.State
		if json.Unmarshal(m.payload, &st) != nil || st.Channel != parts[1] {
			return u, false
		}
		c := v.channel(st.Channel)
		if old := c.state; old != nil && !showview.Newer(st, *old) && !(old.Epoch == st.Epoch && old.Seq == st.Seq) {
			return u, false // an older state arriving late (ordered as the stations' show view orders it)
		}
		if c.state == nil || c.state.Seq != st.Seq || c.state.Epoch != st.Epoch {
			c.note = ""
		}
		if st.State != "ack" {
			c.hasAck = false
		}
		c.state = &st
		return update{kind: "state", channel: st.Channel, station: st.Station, state: &st, retained: m.retained}, true
	case "channel/event":
		var ev mqttlink.Event
		if json.Unmarshal(m.payload, &ev) != nil || ev.Channel != parts[1] {
			return u, false
		}
		c := v.channel(ev.Channel)
		switch ev.Event {
		case "ack":
			c.ackMS, c.hasAck = ev.AckMS, true
		case "fault":
			c.fault, c.faultAt = ev.Reason, ev.At
		case "refused", "rejected":
			c.note = ev.Event + ": " + ev.Reason
		case "standby", "press", "go", "off":
			c.fault = ""
		}
		v.events = append(v.events, eventLine{ev: ev})
		if len(v.events) > maxEvents {
			v.events = slices.Delete(v.events, 0, len(v.events)-maxEvents)
		}
		return update{kind: "event", channel: ev.Channel, station: ev.Station, event: &ev, retained: m.retained}, true
	}
	return u, false
}

// order lists the channels to show: the show file's order when there is
// one; else station by station (sorted), each in its info's order; then
// any other channel seen, sorted.
func (v *showView) order() []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, n := range v.config {
		add(n)
	}
	for _, s := range v.stationNames() {
		if info := v.stations[s].info; info != nil {
			for _, n := range info.Channels {
				add(n)
			}
		}
	}
	var rest []string
	for n := range v.channels {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func (v *showView) stationNames() []string {
	names := make([]string, 0, len(v.stations))
	for n := range v.stations {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// known lists every channel the broker or the show file names.
func (v *showView) known() []string { return v.order() }

// announced reports whether any station has published its info.
func (v *showView) announced() bool {
	for _, s := range v.stations {
		if s.info != nil {
			return true
		}
	}
	return false
}

// onlineChannels lists the channels of stations that are online and have
// said which channels they own.
func (v *showView) onlineChannels() []string {
	var out []string
	for _, n := range v.stationNames() {
		s := v.stations[n]
		if s.status == "online" && s.info != nil {
			out = append(out, s.info.Channels...)
		}
	}
	return out
}

// stationOf returns the station that owns ch, as far as the broker says.
func (v *showView) stationOf(ch string) string {
	if c := v.channels[ch]; c != nil && c.state != nil {
		return c.state.Station
	}
	for _, n := range v.stationNames() {
		if info := v.stations[n].info; info != nil && slices.Contains(info.Channels, ch) {
			return n
		}
	}
	return ""
}

// hasStates reports whether every channel in names has a state.
func (v *showView) hasStates(names []string) bool {
	for _, n := range names {
		if c := v.channels[n]; c == nil || c.state == nil {
			return false
		}
	}
	return true
}

// statusKnown reports whether the station of every channel in names (which
// have states) has published its status.
func (v *showView) statusKnown(names []string) bool {
	for _, n := range names {
		if s := v.stations[v.channels[n].state.Station]; s == nil || s.status == "" {
			return false
		}
	}
	return true
}

// showComplete reports whether the view holds a state for every channel
// cuectl knows should exist: the show file's channels, or, without one,
// those of every station that has announced itself (at least one).
//
// The stations those channels belong to must have published their status
// and info too.
func (v *showView) showComplete() bool {
	if len(v.config) > 0 {
		if !v.hasStates(v.config) {
			return false
		}
		for _, n := range v.config {
			if s := v.stations[v.channels[n].state.Station]; s == nil || s.status == "" || s.info == nil {
				return false
			}
		}
		return true
	}
	if !v.announced() {
		return false
	}
	for _, s := range v.stations {
		if s.info != nil && (s.status == "" || !v.hasStates(s.info.Channels)) {
			return false
		}
	}
	return true
}

// collect reads messages into v until done returns true (checked before
// every wait) or ctx ends; onUpdate, if not nil, sees every update.
func (s *mqttSession) collect(ctx context.Context, v *showView, done func() bool, onUpdate func(update)) error {
	for {
		if done != nil && done() {
			return nil
		}
		select {
		case m := <-s.in:
			if u, ok := v.apply(m); ok && onUpdate != nil {
				onUpdate(u)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
