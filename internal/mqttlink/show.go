package mqttlink

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// This file holds what a station needs beyond its own channels: the
// show-wide view (every channel's state and events, every station's status
// and info), commands it sends to other stations (a gateway, a web page),
// and several brokers.

// ShowMessage is one message of the show-wide subscription, decoded.
type ShowMessage struct {
	Kind     string // "state", "event", "status" or "info"
	Name     string // the channel (state, event) or the station (status, info) from the topic
	State    State  // Kind "state"
	Event    Event  // Kind "event"
	Status   string // Kind "status": "online" or "offline"
	Info     Info   // Kind "info"
	Retained bool
}

// ErrBusy is returned by PublishCommand when the outgoing command queue is
// full: the broker or the connection cannot keep up.
var ErrBusy = errors.New("mqttlink: command queue full")

// ErrNotConnected is returned by PublishCommand while the link is down: a
// command is never queued for later (a GO sent late is worse than none).
var ErrNotConnected = errors.New("mqttlink: not connected to the broker")

// Show delivers the show-wide messages when Options.ShowWide is set: every
// channel's state and events, every station's status and info, decoded,
// in arrival order. Malformed ones are dropped and counted. When the
// reader does not keep up, messages are dropped and counted
// (ShowDropped). Nil without ShowWide.
func (l *Link) Show() <-chan ShowMessage { return l.show }

// ShowDropped is how many show-wide messages were dropped: undecodable, or
// because the reader did not keep up.
func (l *Link) ShowDropped() int64 { return l.showDropped.Load() }

// onShow decodes a show-wide message and hands it on. It runs on paho's
// router goroutine: it must not block.
func (l *Link) onShow(_ paho.Client, m paho.Message) {
	kind, name, ok := l.topics.ShowTopic(m.Topic())
	if !ok {
		return
	}
	sm := ShowMessage{Kind: kind, Name: name, Retained: m.Retained()}
	var err error
	switch kind {
	case "state":
		err = json.Unmarshal(m.Payload(), &sm.State)
	case "event":
		err = json.Unmarshal(m.Payload(), &sm.Event)
	case "info":
		err = json.Unmarshal(m.Payload(), &sm.Info)
	case "status":
		sm.Status = string(m.Payload())
		if sm.Status != "online" && sm.Status != "offline" {
			err = errors.New("status neither online nor offline")
		}
	}
	if err != nil {
		l.showDropped.Add(1)
		return
	}
	select {
	case l.show <- sm:
	default:
		if n := l.showDropped.Add(1); isPowerOf10(n) {
			l.log.Warn("show-wide message dropped: the reader is behind", "dropped_total", n)
		}
	}
}

// subscribeShow subscribes to the show-wide topics; called from onConnect.
func (l *Link) subscribeShow(c paho.Client) error {
	filters := map[string]byte{}
	for _, f := range l.topics.ShowFilters(l.opts.ShowChannels) {
		filters[f] = 1
	}
	st := c.SubscribeMultiple(filters, l.onShow)
	if !waitToken(st, l.closing, l.opts.PublishTimeout) {
		return errors.New("mqttlink: show-wide subscription not confirmed")
	}
	return st.Error()
}

// outCmd is one command waiting for the command publisher.
type outCmd struct {
	topic   string
	payload []byte
}

// PublishCommand sends c to <prefix>/channel/<channel>/cmd, or to
// <prefix>/all/cmd when channel is "", at QoS 1, never retained. It does
// not wait for the broker: it fails at once with ErrNotConnected while the
// link is down (the command is not kept for later) and with ErrBusy when
// the outgoing command queue is full.
func (l *Link) PublishCommand(channel string, c Command) error {
	if !l.up.Load() {
		return ErrNotConnected
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	topic := l.topics.AllCmd()
	if channel != "" {
		topic = l.topics.Cmd(channel)
	}
	select {
	case l.cmdOut <- outCmd{topic: topic, payload: b}:
		return nil
	default:
		return ErrBusy
	}
}

// commandPublisher publishes forwarded commands in order. A command whose
// publish is not confirmed in time is not retried by the station (paho may
// resend it after a reconnect; the receiving station's ttl and duplicate
// id rules make that harmless).
func (l *Link) commandPublisher() {
	for {
		select {
		case <-l.closing:
			return
		case oc := <-l.cmdOut:
			t := l.client.Publish(oc.topic, 1, false, oc.payload)
			go func() {
				if !waitToken(t, l.closing, l.opts.PublishTimeout) || t.Error() != nil {
					l.pubFailures.Add(1)
					l.log.Warn("forwarded command not acknowledged by the broker", "topic", oc.topic, "err", t.Error())
				}
			}()
		}
	}
}

// Broker returns the URL of the broker the link is connected to (or was
// last trying), one of Options.Brokers.
func (l *Link) Broker() string {
	if p := l.broker.Load(); p != nil {
		return *p
	}
	return l.opts.Broker
}

// onAttempt records which broker paho is trying; with several brokers the
// last attempt before OnConnect is the one connected.
func (l *Link) onAttempt(u *url.URL, cfg *tls.Config) *tls.Config {
	s := u.String()
	l.broker.Store(&s)
	return cfg
}

// failback runs while the link is connected to a broker other than the
// first of the list: every FailbackInterval it dials the first broker's
// address, and when it answers it drops the current connection, so that
// paho connects again from the top of the list (the first broker).
func (l *Link) failback(ctx context.Context) {
	first := l.opts.Brokers[0]
	u, err := url.Parse(first)
	if err != nil {
		return
	}
	t := time.NewTicker(l.opts.FailbackInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.closing:
			return
		case <-t.C:
		}
		if !l.up.Load() || l.Broker() == first {
			continue
		}
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			continue
		}
		c.Close()
		l.log.Info("first broker answers again: moving back to it", "broker", first, "from", l.Broker())
		l.reconnect()
	}
}

// reconnect ends the current connection and connects again, from the
// first broker of the list.
func (l *Link) reconnect() {
	if !l.acquire(l.closing) {
		return
	}
	defer l.release()
	l.client.Disconnect(100)
	l.setUp(false, errors.New("moving back to the first broker"))
	select {
	case <-l.closing:
		return
	default:
	}
	l.client.Connect()
}
