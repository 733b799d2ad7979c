package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/drivers"
	"github.com/cuelight/cuelight/drivers/sim"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/station"
)

type fakeStation struct{ ready bool }

func (f fakeStation) States() []mqttlink.State {
	return []mqttlink.State{{Channel: "fly", Station: "demo", State: "standby", Label: "23", AckRequested: true, Seq: 1, Epoch: "e"}}
}
func (f fakeStation) Ready() bool          { return f.ready }
func (f fakeStation) Stats() station.Stats { return station.Stats{MQTTConnected: true} }

func simBoard(t *testing.T) *sim.Board {
	t.Helper()
	b := sim.New(sim.Options{Clock: clockwork.NewFakeClock()})
	if _, err := b.Lamp("GPIO17", drivers.PinOptions{Channel: "fly", Role: drivers.RoleStandbyLamp}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Button("GPIO22", drivers.ButtonOptions{PinOptions: drivers.PinOptions{Channel: "fly", Role: drivers.RoleAckButton, ActiveLow: true}}); err != nil {
		t.Fatal(err)
	}
	return b
}

func do(t *testing.T, h http.Handler, method, path, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestAPI(t *testing.T) {
	t.Parallel()
	h := Handler(fakeStation{ready: true}, simBoard(t))
	cases := []struct {
		name, method, path, body string
		code                     int
		contains                 string
	}{
		{"health", "GET", "/healthz", "", 200, "ok"},
		{"channels", "GET", "/api/v1/channels", "", 200, `{"channels":[{"channel":"fly","station":"demo","state":"standby","label":"23","ack_requested":true`},
		{"pins", "GET", "/api/v1/pins", "", 200, `{"pins":[{"name":"GPIO17","channel":"fly","role":"standby_lamp","level":false,"brightness":0}`},
		{"stats", "GET", "/api/v1/stats", "", 200, `"mqtt_connected":true`},
		{"press", "POST", "/api/v1/pins/GPIO22/press", "", 204, ""},
		{"hold", "POST", "/api/v1/pins/GPIO22", `{"level":true}`, 204, ""},
		{"let go", "POST", "/api/v1/pins/GPIO22", `{"level":false}`, 204, ""},
		{"press unknown pin", "POST", "/api/v1/pins/GPIO99/press", "", 404, "GPIO99"},
		{"press a lamp", "POST", "/api/v1/pins/GPIO17/press", "", 400, "error"},
		{"bad body", "POST", "/api/v1/pins/GPIO22", `{"level":1}`, 400, `body must be`},
		{"unknown field", "POST", "/api/v1/pins/GPIO22", `{"level":true,"x":1}`, 400, "body must be"},
		{"empty body", "POST", "/api/v1/pins/GPIO22", ``, 400, "body must be"},
		{"wrong method", "DELETE", "/api/v1/pins", "", 405, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := do(t, h, c.method, c.path, c.body)
			if code != c.code || !strings.Contains(body, c.contains) {
				t.Errorf("%s %s: %d %q, want %d containing %q", c.method, c.path, code, body, c.code, c.contains)
			}
		})
	}
}

func TestHealthBeforeReady(t *testing.T) {
	t.Parallel()
	code, _ := do(t, Handler(fakeStation{}, nil), "GET", "/healthz", "")
	if code != http.StatusServiceUnavailable {
		t.Errorf("healthz before ready: %d, want 503", code)
	}
}

func TestPinsWithoutSim(t *testing.T) {
	t.Parallel()
	code, body := do(t, Handler(fakeStation{ready: true}, nil), "GET", "/api/v1/pins", "")
	var e map[string]string
	if code != 404 || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e["error"], "sim driver") {
		t.Errorf("pins on real hardware: %d %s", code, body)
	}
}

// FuzzSetLevel: any request body is answered (204 or 400), never a panic
// or a 5xx.
func FuzzSetLevel(f *testing.F) {
	for _, s := range []string{`{"level":true}`, `{"level":false}`, `{"level":null}`, `[]`, `{"level":true}{"level":false}`, "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		h := Handler(fakeStation{ready: true}, simBoard(t))
		code, _ := do(t, h, "POST", "/api/v1/pins/GPIO22", body)
		if code != 204 && code != 400 {
			t.Fatalf("body %q: status %d", body, code)
		}
	})
}
