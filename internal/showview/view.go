// Package showview keeps the latest state of every channel of the show, as
// the stations publish it on MQTT, so that every part that shows or relays
// the whole show (cuectl watch, a gateway's OSC feedback, the desk page)
// reads one model.
//
// Retained messages can arrive out of order: after a broker failover a
// NATS cluster was seen serving a retained state several seconds old to a
// new subscriber. So a channel's states are ordered by what they say, never
// by arrival: within one epoch (one process start of its station) by seq;
// across epochs by since, the time of the change (a restart's new epoch
// begins with a state whose since is the start, after everything the old
// process published). A state older than the one held is counted and
// dropped. A state from a station or for a channel that is not in the show
// file is counted and never shown.
package showview

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/internal/mqttlink"
)

// Outcome says what View.State did with a message.
type Outcome uint8

const (
	Applied Outcome = iota + 1 // newer than what was held: the view changed
	Stale                      // not newer (older, or the same again): dropped
	Unknown                    // a channel or station not in the show file: dropped
)

// Channel is one channel of the show as the view holds it.
type Channel struct {
	Name    string         // channel name
	Station string         // its station, from the show file
	State   mqttlink.State // the latest state; State.State is "" until one arrived
	Online  bool           // its station's status is "online"
}

// StationView is one station of the show as the view holds it.
type StationView struct {
	Name   string
	Status string         // "online", "offline", or "" (never heard)
	Info   *mqttlink.Info // the latest info; nil until one arrived
}

// Counters count the messages the view dropped.
type Counters struct {
	Stale   int64 `json:"stale"`   // states older than the one held
	Unknown int64 `json:"unknown"` // states, statuses or infos not of this show
}

// UpdateKind says what an Update reports.
type UpdateKind uint8

const (
	UpdateState   UpdateKind = iota + 1 // a channel's state changed: Channel
	UpdateStation                       // a station's status or info changed: Station
	UpdateEvent                         // an event of the show: Event
)

// Update is one change of the view, for a live page or a relay.
type Update struct {
	Kind    UpdateKind
	Channel Channel        // UpdateState
	Station StationView    // UpdateStation
	Event   mqttlink.Event // UpdateEvent
}

// EventHistory is how many of the show's latest events the view keeps.
const EventHistory = 100

// View is safe for concurrent use.
type View struct {
	mu       sync.RWMutex
	order    []string // channel names, show-file order
	channels map[string]*Channel
	stations map[string]*StationView
	sOrder   []string
	count    Counters
	events   []mqttlink.Event // the latest, oldest first, at most EventHistory
	subs     map[*subscriber]struct{}
}

type subscriber struct {
	ch      chan Update
	overrun bool // an update was dropped: the reader must re-read the view
}

// New returns a view of cfg's show with every channel unknown.
func New(cfg *config.Config) *View {
	v := &View{channels: map[string]*Channel{}, stations: map[string]*StationView{}, subs: map[*subscriber]struct{}{}}
	for _, st := range cfg.Stations {
		v.stations[st.Name] = &StationView{Name: st.Name}
		v.sOrder = append(v.sOrder, st.Name)
	}
	for _, ch := range cfg.Channels {
		v.order = append(v.order, ch.Name)
		v.channels[ch.Name] = &Channel{Name: ch.Name, Station: ch.Station}
	}
	return v
}

// State applies a published channel state.
func (v *View) State(s mqttlink.State) Outcome {
	v.mu.Lock()
	defer v.mu.Unlock()
	ch := v.known(s.Channel, s.Station)
	if ch == nil {
		return Unknown
	}
	if ch.State.State != "" && !Newer(s, ch.State) {
		v.count.Stale++
		return Stale
	}
	ch.State = s
	v.publish(Update{Kind: UpdateState, Channel: v.channelLocked(ch)})
	return Applied
}

// known returns the show's channel ch if station owns it, else counts an
// unknown message and returns nil. v.mu is held.
func (v *View) known(ch, station string) *Channel {
	c := v.channels[ch]
	if c == nil || c.Station != station {
		v.count.Unknown++
		return nil
	}
	return c
}

func (v *View) channelLocked(c *Channel) Channel {
	out := *c
	out.Online = v.stations[c.Station].Status == "online"
	return out
}

// Event records one event of the show (the view keeps the latest
// EventHistory) and passes it to subscribers; it reports whether the
// event's channel is of this show.
func (v *View) Event(ev mqttlink.Event) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.known(ev.Channel, ev.Station) == nil {
		return false
	}
	if len(v.events) == EventHistory {
		copy(v.events, v.events[1:])
		v.events = v.events[:EventHistory-1]
	}
	v.events = append(v.events, ev)
	v.publish(Update{Kind: UpdateEvent, Event: ev})
	return true
}

// Events returns the latest n events (fewer if fewer were seen), oldest
// first.
func (v *View) Events(n int) []mqttlink.Event {
	v.mu.RLock()
	defer v.mu.RUnlock()
	n = min(max(n, 0), len(v.events))
	return append([]mqttlink.Event(nil), v.events[len(v.events)-n:]...)
}

// Subscribe returns a channel of every change from now on, and a function
// that ends the subscription. The view never waits for a reader: when the
// buffer is full the update is dropped and Overrun reports it, so the
// reader must read the whole view again (a live page reloads its model).
func (v *View) Subscribe(buf int) (<-chan Update, func() (overrun bool)) {
	sub := &subscriber{ch: make(chan Update, max(buf, 1))}
	v.mu.Lock()
	v.subs[sub] = struct{}{}
	v.mu.Unlock()
	var once sync.Once
	return sub.ch, func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		once.Do(func() { delete(v.subs, sub) })
		o := sub.overrun
		sub.overrun = false
		return o
	}
}

// publish passes u to every subscriber without waiting. v.mu is held.
func (v *View) publish(u Update) {
	for sub := range v.subs {
		select {
		case sub.ch <- u:
		default:
			sub.overrun = true
		}
	}
}

// Newer reports whether state b is newer than state a of the same
// channel: by seq within one epoch, by since across epochs (ties, and a
// since that cannot be read, are not newer).
func Newer(b, a mqttlink.State) bool {
	if b.Epoch == a.Epoch {
		return b.Seq > a.Seq
	}
	tb, errB := time.Parse(time.RFC3339Nano, b.Since)
	ta, errA := time.Parse(time.RFC3339Nano, a.Since)
	if errB != nil {
		return false
	}
	if errA != nil {
		return true
	}
	return tb.After(ta)
}

// Status applies a station's status ("online" or "offline"); it reports
// whether the station is of this show.
func (v *View) Status(station, status string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	st := v.stations[station]
	if st == nil {
		v.count.Unknown++
		return false
	}
	if st.Status != status {
		st.Status = status
		v.publish(Update{Kind: UpdateStation, Station: *st})
		for _, n := range v.order {
			if c := v.channels[n]; c.Station == station {
				v.publish(Update{Kind: UpdateState, Channel: v.channelLocked(c)})
			}
		}
	}
	return true
}

// Info applies a station's info; it reports whether the station is of
// this show.
func (v *View) Info(station string, info mqttlink.Info) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	st := v.stations[station]
	if st == nil {
		v.count.Unknown++
		return false
	}
	st.Info = &info
	v.publish(Update{Kind: UpdateStation, Station: *st})
	return true
}

// Channels returns every channel of the show, in show-file order.
func (v *View) Channels() []Channel {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]Channel, 0, len(v.order))
	for _, n := range v.order {
		out = append(out, v.channelLocked(v.channels[n]))
	}
	return out
}

// Channel returns one channel, and false if it is not in the show.
func (v *View) Channel(name string) (Channel, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	c := v.channels[name]
	if c == nil {
		return Channel{}, false
	}
	return v.channelLocked(c), true
}

// Stations returns every station of the show, in show-file order.
func (v *View) Stations() []StationView {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]StationView, 0, len(v.sOrder))
	for _, n := range v.sOrder {
		out = append(out, *v.stations[n])
	}
	return out
}

// Counters returns what the view has dropped so far.
func (v *View) Counters() Counters {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.count
}

// ShowHash is a short hash of a show file's bytes. Stations put it in their
// info, so that a gateway and the desk can tell a station started with an
// older or different show file.
func ShowHash(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:6])
}
