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

// View is safe for concurrent use.
type View struct {
	mu       sync.RWMutex
	order    []string // channel names, show-file order
	channels map[string]*Channel
	stations map[string]*StationView
	sOrder   []string
	count    Counters
}

// New returns a view of cfg's show with every channel unknown.
func New(cfg *config.Config) *View {
	v := &View{channels: map[string]*Channel{}, stations: map[string]*StationView{}}
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
	ch := v.channels[s.Channel]
	if ch == nil || s.Station != ch.Station {
		v.count.Unknown++
		return Unknown
	}
	if ch.State.State != "" && !Newer(s, ch.State) {
		v.count.Stale++
		return Stale
	}
	ch.State = s
	return Applied
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
	st.Status = status
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
	return true
}

// Channels returns every channel of the show, in show-file order.
func (v *View) Channels() []Channel {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]Channel, 0, len(v.order))
	for _, n := range v.order {
		c := *v.channels[n]
		c.Online = v.stations[c.Station].Status == "online"
		out = append(out, c)
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
	out := *c
	out.Online = v.stations[c.Station].Status == "online"
	return out, true
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
