// Package web serves the station's HTTP API (docs/protocol.md §7: the
// simulated board's pins, the channels' states, health) and the pages of
// docs/web.md: the stage manager's desk, a wing page per channel for a
// phone, and the sim board, with their live stream, logins and roles.
package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/sim"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/station"
)

// Station is what the API reads from the running station. Every method is
// safe from any goroutine.
type Station interface {
	States() []mqttlink.State // configuration order
	Ready() bool
	Stats() station.Stats
}

// Handler returns the API alone, without pages or logins. board is nil
// when the station drives real hardware: the pin endpoints then answer 404
// with an explanation.
func Handler(st Station, board *sim.Board) http.Handler {
	mux := http.NewServeMux()
	registerAPI(mux, st, board, func(http.ResponseWriter, *http.Request, bool) bool { return true })
	return mux
}

// registerAPI adds the API to mux. guard decides whether a request may go
// on (write: it changes something) and answers it when not; /healthz is
// never guarded.
func registerAPI(mux *http.ServeMux, st Station, board *sim.Board, guard func(w http.ResponseWriter, r *http.Request, write bool) bool) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !st.Ready() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /api/v1/channels", func(w http.ResponseWriter, r *http.Request) {
		if !guard(w, r, false) {
			return
		}
		states := st.States()
		if states == nil {
			states = []mqttlink.State{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"channels": states})
	})
	mux.HandleFunc("GET /api/v1/stats", func(w http.ResponseWriter, r *http.Request) {
		if !guard(w, r, false) {
			return
		}
		writeJSON(w, http.StatusOK, st.Stats())
	})
	mux.HandleFunc("GET /api/v1/pins", func(w http.ResponseWriter, r *http.Request) {
		if !guard(w, r, false) {
			return
		}
		if board == nil {
			noSim(w)
			return
		}
		pins := []pinJSON{}
		for _, p := range board.Pins() {
			pins = append(pins, pinJSON{Name: p.Name, Channel: p.Channel, Role: p.Role, Level: p.Level, Brightness: p.Brightness, Color: p.Color})
		}
		writeJSON(w, http.StatusOK, map[string]any{"pins": pins})
	})
	mux.HandleFunc("POST /api/v1/pins/{name}/press", func(w http.ResponseWriter, r *http.Request) {
		if !guard(w, r, true) {
			return
		}
		if board == nil {
			noSim(w)
			return
		}
		if err := board.Press(r.PathValue("name")); err != nil {
			pinError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /api/v1/pins/{name}", func(w http.ResponseWriter, r *http.Request) {
		if !guard(w, r, true) {
			return
		}
		if board == nil {
			noSim(w)
			return
		}
		var body struct {
			Level *bool `json:"level"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.Level == nil {
			writeError(w, http.StatusBadRequest, `body must be {"level":true} or {"level":false}`)
			return
		}
		if err := board.SetLevel(r.PathValue("name"), *body.Level); err != nil {
			pinError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

type pinJSON struct {
	Name       string  `json:"name"`
	Channel    string  `json:"channel"`
	Role       string  `json:"role"`
	Level      bool    `json:"level"`
	Brightness float64 `json:"brightness"`
	Color      string  `json:"color,omitempty"` // RGB lamps: "#rrggbb"
}

func noSim(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "the pins API exists only on the sim driver (stations.<name>.driver: sim)")
}

func pinError(w http.ResponseWriter, err error) {
	if errors.Is(err, sim.ErrNotButton) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if errors.Is(err, drivers.ErrUnknownPin) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	writeError(w, http.StatusBadRequest, err.Error())
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
