// Package web serves the station's HTTP API (SPEC §7): the simulated
// board's pins, the channels' states, and health. The stage manager's page
// comes later.
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

// Handler returns the API. board is nil when the station drives real
// hardware: the pin endpoints then answer 404 with an explanation.
func Handler(st Station, board *sim.Board) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !st.Ready() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /api/v1/channels", func(w http.ResponseWriter, r *http.Request) {
		states := st.States()
		if states == nil {
			states = []mqttlink.State{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"channels": states})
	})
	mux.HandleFunc("GET /api/v1/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, st.Stats())
	})
	mux.HandleFunc("GET /api/v1/pins", func(w http.ResponseWriter, r *http.Request) {
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
	return mux
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
