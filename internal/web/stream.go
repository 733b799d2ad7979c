package web

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/cuelight/cuelight/drivers/sim"
	"github.com/cuelight/cuelight/internal/showview"
)

// The live stream of a page: server-sent events, one stream per page
// carrying every channel of the show (and, on the board page, every pin).
//
//	event: model    the whole model (pageModel): at the start, and again
//	                whenever the stream fell behind the view
//	event: channel  one channel (channelJSON) changed
//	event: station  one station (stationJSON) changed
//	event: ev       one event of the show (eventJSON)
//	event: pin      one sim pin (pinJSON) changed (board page only)
//	event: tick     {"now": ms} every StreamTick, so a page knows it is live
//
// A page never shows what it has not been told since it (re)connected:
// every (re)connection starts with a model.

const (
	// StreamTick is how often an idle stream says it is alive. A page
	// that has heard nothing for 2.5 ticks reconnects.
	StreamTick = 15 * time.Second
	// streamBuffer updates may wait for a slow page before it gets a
	// fresh model instead.
	streamBuffer = 256
	// writeTimeout: a page that cannot take one message in this long
	// (a phone gone to sleep mid-write) is dropped; it reconnects.
	writeTimeout = 10 * time.Second
)

type sseWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (s *sseWriter) send(event string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_ = s.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := io.WriteString(s.w, "event: "+event+"\ndata: "); err != nil {
		return err
	}
	if _, err := s.w.Write(append(b, "\n\n"...)); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (h *handler) stream(w http.ResponseWriter, r *http.Request) {
	sess := h.auth.forPage(w, r)
	if sess == nil {
		writeError(w, http.StatusUnauthorized, "log in first: open /login")
		return
	}
	withPins := r.URL.Query().Get("pins") == "1" && h.board != nil
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	out := &sseWriter{w: w, rc: http.NewResponseController(w)}
	if _, err := io.WriteString(w, "retry: 1000\n\n"); err != nil {
		return
	}

	view := h.show.Show()
	var (
		updates <-chan showview.Update
		cancel  func() bool
		pins    <-chan sim.Change
		unpin   func()
	)
	// subscribe (again) and send the whole model read after subscribing,
	// so nothing between the two is missed.
	resync := func() error {
		if cancel != nil {
			cancel()
		}
		updates, cancel = view.Subscribe(streamBuffer)
		if withPins {
			if unpin != nil {
				unpin()
			}
			pins, unpin = h.board.Subscribe(streamBuffer)
		}
		m := h.model.model(view, h.clock.Now())
		m.CSRF = sess.csrf
		if withPins {
			m.Pins = h.pins()
		}
		return out.send("model", m)
	}
	defer func() {
		if cancel != nil {
			cancel()
		}
		if unpin != nil {
			unpin()
		}
	}()
	if resync() != nil {
		return
	}
	h.streams.Add(1)
	defer h.streams.Add(-1)
	tick := h.clock.NewTicker(StreamTick)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-tick.Chan():
			err = out.send("tick", map[string]int64{"now": h.clock.Now().UnixMilli()})
		case u := <-updates:
			if len(updates) >= streamBuffer-1 {
				err = resync() // the view may have dropped updates for us
				break
			}
			switch u.Kind {
			case showview.UpdateState:
				cj := h.model.channel(u.Channel, nil)
				err = out.send("channel", struct {
					channelJSON
					Now int64 `json:"now"`
				}{cj, h.clock.Now().UnixMilli()})
			case showview.UpdateStation:
				err = out.send("station", stationOf(u.Station))
			case showview.UpdateEvent:
				err = out.send("ev", eventOf(u.Event))
			}
		case c, ok := <-pins:
			if !ok {
				pins = nil
				break
			}
			if len(pins) >= streamBuffer-1 {
				err = resync()
				break
			}
			err = out.send("pin", pinJSON{Name: c.Name, Channel: c.Channel, Role: c.Role, Level: c.Level, Brightness: c.Brightness, Color: c.Color})
		}
		if err != nil {
			return
		}
	}
}

func (h *handler) pins() []pinJSON {
	out := []pinJSON{}
	for _, p := range h.board.Pins() {
		out = append(out, pinJSON{Name: p.Name, Channel: p.Channel, Role: p.Role, Level: p.Level, Brightness: p.Brightness, Color: p.Color})
	}
	return out
}
