package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/drivers/sim"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/showview"
)

// fakeShow is the station's show side: a real view, and the commands sent.
type fakeShow struct {
	view    *showview.View
	mu      sync.Mutex
	sent    []sentCmd
	markers []string
	err     error
}

func (f *fakeShow) PublishMarker(kind, name, source string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.markers = append(f.markers, kind+" "+name+" "+source)
	return nil
}

type sentCmd struct {
	channel string
	cmd     mqttlink.Command
}

func (f *fakeShow) Show() *showview.View { return f.view }
func (f *fakeShow) SendCommand(ctx context.Context, ch string, c mqttlink.Command) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.sent = append(f.sent, sentCmd{ch, c})
	return nil
}
func (f *fakeShow) last() (sentCmd, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) == 0 {
		return sentCmd{}, 0
	}
	return f.sent[len(f.sent)-1], len(f.sent)
}

// testPasswords: every user's password is its name.
var hashes sync.Map

func hashOf(t *testing.T, pw string) string {
	if h, ok := hashes.Load(pw); ok {
		return h.(string)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	hashes.Store(pw, string(h))
	return string(h)
}

// testShow: station a has fly (two lamps) and sl, station b has sr.
func testShow(t testing.TB, web string) *config.Config {
	t.Helper()
	y := `
show: Test show
mqtt: {broker: "tcp://127.0.0.1:1883"}
` + web + `
stations:
  a: {driver: sim}
  b: {driver: sim}
channels:
  fly: {station: a, label: Fly rail, standby_lamp: GPIO17, go_lamp: GPIO27, ack_button: GPIO22}
  sl: {station: a, standby_lamp: GPIO23}
  sr: {station: b, standby_lamp: GPIO17}
`
	cfg, err := config.Parse(strings.NewReader(y), "show.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func usersWeb(t *testing.T, deskGo bool) string {
	return "web:\n  desk_go: " + map[bool]string{true: "true", false: "false"}[deskGo] + "\n  users:\n" +
		"    psm: {password_hash: \"" + hashOf(t, "psm") + "\", role: sm}\n" +
		"    flyop: {password_hash: \"" + hashOf(t, "flyop") + "\", role: crew, channels: [fly]}\n" +
		"    front: {password_hash: \"" + hashOf(t, "front") + "\", role: viewer}\n"
}

type env struct {
	srv   *httptest.Server
	show  *fakeShow
	clock *clockwork.FakeClock
}

func newEnv(t *testing.T, cfg *config.Config, board *sim.Board) *env {
	t.Helper()
	e := &env{show: &fakeShow{view: showview.New(cfg)}, clock: clockwork.NewFakeClockAt(time.Date(2026, 3, 1, 19, 30, 0, 0, time.UTC))}
	h, err := New(Options{Station: fakeStation{ready: true}, Show: e.show, Board: board, Config: cfg, Listen: "127.0.0.1:8080", Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// client is one browser: a cookie jar and the CSRF token of its last page.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func (e *env) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: e.srv.URL, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`<meta name="csrf" content="([^"]*)">`)

func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := csrfRE.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return resp, string(b)
}

func (c *client) post(path, ctype, body string, hdr map[string]string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

// browser headers: what a page's fetch sends.
func (c *client) command(ch, cmd, label string) (int, string) {
	b, _ := json.Marshal(commandRequest{Channel: ch, Cmd: cmd, Label: label})
	return c.post("/api/v1/command", "application/json", string(b), map[string]string{"X-CSRF-Token": c.csrf, "Origin": c.base, "Sec-Fetch-Site": "same-origin"})
}

func (c *client) login(user, pw string) int {
	c.t.Helper()
	c.get("/login")
	code, _ := c.post("/login", "application/x-www-form-urlencoded",
		url.Values{"csrf": {c.csrf}, "user": {user}, "password": {pw}, "next": {"/"}}.Encode(), map[string]string{"Origin": c.base})
	if code == http.StatusSeeOther {
		c.get("/")
	}
	return code
}

func TestOpenPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testShow(t, ""), nil)
	c := e.client(t)
	resp, body := c.get("/")
	if resp.StatusCode != 200 || !strings.Contains(body, `data-page="desk"`) || c.csrf == "" {
		t.Fatalf("desk: %d %s", resp.StatusCode, body)
	}
	ck := resp.Cookies()
	if len(ck) != 1 || ck[0].Name != sessionCookie || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie: %+v", ck)
	}
	if !strings.Contains(body, `data-role="sm"`) || strings.Contains(body, `id="goask"`) {
		t.Errorf("open desk: role sm and no GO without desk_go:\n%s", body)
	}
	if resp, _ := c.get("/wing/fly"); resp.StatusCode != 200 {
		t.Errorf("wing: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/wing/nope"); resp.StatusCode != 404 {
		t.Errorf("wing of no channel: %d", resp.StatusCode)
	}
	if resp, body := c.get("/board"); resp.StatusCode != 404 || !strings.Contains(body, "sim driver") {
		t.Errorf("board without sim: %d %s", resp.StatusCode, body)
	}
	if resp, _ := c.get("/login"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("login page without users: %d, want a redirect to the desk", resp.StatusCode)
	}
	if code, _ := c.command("fly", "standby", "23"); code != http.StatusAccepted {
		t.Errorf("standby from the open desk: %d", code)
	}
	s, n := e.show.last()
	if n != 1 || s.channel != "fly" || s.cmd.Cmd != "standby" || s.cmd.Label != "23" || s.cmd.Source != "web" || s.cmd.TTLMS != 2000 || !strings.HasPrefix(s.cmd.ID, "web-") || s.cmd.TS != "2026-03-01T19:30:00.000Z" {
		t.Errorf("sent: %+v", s)
	}
	e.show.err = errors.New("queue full")
	if code, body := c.command("fly", "off", ""); code != http.StatusBadGateway || !strings.Contains(body, "queue full") {
		t.Errorf("a command the station did not take: %d %s", code, body)
	}
}

// TestPageWeight: a page with its script and stylesheet stays under 60 KB.
func TestPageWeight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testShow(t, ""), nil)
	c := e.client(t)
	_, js := c.get("/static/cuelight.js")
	_, css := c.get("/static/cuelight.css")
	if resp, _ := c.get("/static/head.html"); resp.StatusCode != 404 {
		t.Errorf("templates are not static files: %d", resp.StatusCode)
	}
	for _, p := range []string{"/", "/wing/fly"} {
		_, html := c.get(p)
		if n := len(html) + len(js) + len(css); n > 60<<10 || len(js) < 1000 || len(css) < 1000 {
			t.Errorf("%s: %d bytes with script (%d) and stylesheet (%d), want ≤ 60 KB", p, n, len(js), len(css))
		} else {
			t.Logf("%s: %d bytes (page %d, script %d, stylesheet %d)", p, n, len(html), len(js), len(css))
		}
		if strings.Contains(html, "http://") || strings.Contains(html, "https://") || strings.Contains(js, "https://") {
			t.Errorf("%s fetches from elsewhere", p)
		}
	}
}

func TestRolesAndCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testShow(t, usersWeb(t, false)), nil)
	anon := e.client(t)
	if resp, _ := anon.get("/"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2F" {
		t.Errorf("desk without login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := anon.get("/events"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("stream without login: %d", resp.StatusCode)
	}
	if resp, _ := anon.get("/api/v1/channels"); resp.StatusCode != 200 {
		t.Errorf("the API's reads are for monitoring too: %d", resp.StatusCode)
	}
	if code, _ := anon.post("/api/v1/pins/GPIO22/press", "", "", nil); code != http.StatusUnauthorized {
		t.Errorf("a press through the API without login: %d", code)
	}
	if resp, _ := anon.get("/healthz"); resp.StatusCode != 200 {
		t.Errorf("healthz is for monitors: %d", resp.StatusCode)
	}
	if code, _ := anon.command("fly", "ack", ""); code != http.StatusUnauthorized {
		t.Errorf("command without login: %d", code)
	}
	if code := anon.login("psm", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", code)
	}
	// a login form without its CSRF token is refused
	anon.get("/login")
	if code, _ := anon.post("/login", "application/x-www-form-urlencoded", "user=psm&password=psm", nil); code != http.StatusForbidden {
		t.Errorf("login without CSRF token: %d", code)
	}

	sm, crew, viewer := e.client(t), e.client(t), e.client(t)
	for _, l := range []struct {
		c        *client
		user     string
		wantRole string
	}{{sm, "psm", "sm"}, {crew, "flyop", "crew"}, {viewer, "front", "viewer"}} {
		if code := l.c.login(l.user, l.user); code != http.StatusSeeOther {
			t.Fatalf("login %s: %d", l.user, code)
		}
		if _, body := l.c.get("/"); !strings.Contains(body, `data-role="`+l.wantRole+`"`) || strings.Contains(body, `id="goask"`) {
			t.Errorf("%s's desk: role %s, no GO without desk_go", l.user, l.wantRole)
		}
	}
	// the login made a new session: the login page's token is dead
	cases := []struct {
		name        string
		c           *client
		ch, cmd, lb string
		code        int
	}{
		{"sm standby", sm, "fly", "standby", "23", 202},
		{"sm standby_ack", sm, "sr", "standby_ack", "24", 202},
		{"sm off", sm, "fly", "off", "", 202},
		{"sm hold", sm, "", "hold", "", 202},
		{"sm release", sm, "", "release", "", 202},
		{"sm ack", sm, "fly", "ack", "", 202},
		{"sm GO without desk_go", sm, "", "go", "23", 403},
		{"sm hold of one channel", sm, "fly", "hold", "", 400},
		{"sm unknown channel", sm, "nope", "standby", "1", 400},
		{"sm unknown verb", sm, "fly", "force_go", "1", 400},
		{"sm label too long", sm, "fly", "standby", strings.Repeat("x", 65), 400},
		{"sm label with a control character", sm, "fly", "standby", "2\n3", 400},
		{"crew ack own channel", crew, "fly", "ack", "", 202},
		{"crew call own channel", crew, "fly", "call_button", "", 202},
		{"crew ack another channel", crew, "sr", "ack", "", 403},
		{"crew standby", crew, "fly", "standby", "1", 403},
		{"crew hold", crew, "", "hold", "", 403},
		{"viewer ack", viewer, "fly", "ack", "", 403},
		{"viewer hold", viewer, "", "hold", "", 403},
	}
	for _, k := range cases {
		_, before := e.show.last()
		code, body := k.c.command(k.ch, k.cmd, k.lb)
		_, after := e.show.last()
		if code != k.code || (code == 202) != (after == before+1) {
			t.Errorf("%s: %d %s (sent %d), want %d", k.name, code, body, after-before, k.code)
		}
	}
	if s, _ := e.show.last(); s.cmd.Cmd != "call_button" || s.channel != "fly" || s.cmd.Source != "web" {
		t.Errorf("crew's call: %+v", s)
	}
	// CSRF: a POST with a missing or wrong token, or with a token of
	// another session, is refused before anything is sent
	_, before := e.show.last()
	for name, tok := range map[string]string{"missing": "", "wrong": "x", "crew's": crew.csrf} {
		good := sm.csrf
		sm.csrf = tok
		if code, _ := sm.command("fly", "off", ""); code != http.StatusForbidden {
			t.Errorf("%s CSRF token: %d", name, code)
		}
		sm.csrf = good
	}
	if _, after := e.show.last(); after != before {
		t.Errorf("refused commands were sent")
	}
	// logout ends the session
	if code, _ := sm.post("/logout", "application/x-www-form-urlencoded", "csrf="+sm.csrf, nil); code != http.StatusSeeOther {
		t.Errorf("logout: %d", code)
	}
	if code, _ := sm.command("fly", "off", ""); code != http.StatusUnauthorized {
		t.Errorf("after logout: %d", code)
	}
}

func TestDeskGo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testShow(t, usersWeb(t, true)), nil)
	sm, crew := e.client(t), e.client(t)
	sm.login("psm", "psm")
	crew.login("flyop", "flyop")
	if _, body := sm.get("/"); !strings.Contains(body, `id="goask"`) || !strings.Contains(body, `id="gosure"`) {
		t.Errorf("sm desk with desk_go: no GO with its confirm step")
	}
	if _, body := crew.get("/"); strings.Contains(body, `id="goask"`) {
		t.Errorf("crew desk shows GO")
	}
	if code, _ := sm.command("", "go", "23"); code != 202 {
		t.Errorf("cue GO: %d", code)
	}
	if s, _ := e.show.last(); s.channel != "" || s.cmd.Cmd != "go" || s.cmd.Label != "23" {
		t.Errorf("cue GO sent as %+v", s)
	}
	for _, k := range []struct{ ch, lb string }{{"", ""}, {"fly", "23"}} {
		if code, _ := sm.command(k.ch, "go", k.lb); code != 400 {
			t.Errorf("GO %q %q: %d, want 400 (a cue GO by label only)", k.ch, k.lb, code)
		}
	}
	if code, _ := crew.command("", "go", "23"); code != 403 {
		t.Errorf("crew GO: %d", code)
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testShow(t, usersWeb(t, false)), nil)
	c := e.client(t)
	for i := range LoginBurst {
		if code := c.login("psm", "nope"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, code)
		}
	}
	if code := c.login("psm", "psm"); code != http.StatusTooManyRequests {
		t.Errorf("attempt %d, even with the right password: %d, want 429", LoginBurst+1, code)
	}
	e.clock.Advance(LoginEvery)
	if code := c.login("psm", "psm"); code != http.StatusSeeOther {
		t.Errorf("after %v: %d", LoginEvery, code)
	}
}

func TestRefusesOpenListener(t *testing.T) {
	t.Parallel()
	cfg := testShow(t, "")
	for _, l := range []string{"0.0.0.0:8080", "10.0.0.5:80", "[::]:8080"} {
		if _, err := New(Options{Station: fakeStation{}, Show: &fakeShow{view: showview.New(cfg)}, Config: cfg, Listen: l}); !errors.Is(err, ErrNoUsers) {
			t.Errorf("%s without users: %v", l, err)
		}
	}
	if _, err := New(Options{Station: fakeStation{}, Show: &fakeShow{view: showview.New(cfg)}, Config: testShow(t, usersWeb(t, false)), Listen: "0.0.0.0:8080"}); err != nil {
		t.Errorf("with users: %v", err)
	}
}

// TestPinAPIGuard: without users, curl on the station presses buttons
// without a token; a browser needs its page's token.
func TestPinAPIGuard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testShow(t, ""), simBoard(t))
	c := e.client(t)
	if code, _ := c.post("/api/v1/pins/GPIO22/press", "", "", nil); code != 204 {
		t.Errorf("curl press: %d", code)
	}
	if code, _ := c.post("/api/v1/pins/GPIO22/press", "", "", map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}); code != 401 {
		t.Errorf("cross-site press without session: %d", code)
	}
	c.get("/board")
	if code, _ := c.post("/api/v1/pins/GPIO22/press", "", "", map[string]string{"Origin": c.base, "X-CSRF-Token": "x"}); code != 403 {
		t.Errorf("press with a wrong token: %d", code)
	}
	if code, _ := c.post("/api/v1/pins/GPIO22/press", "", "", map[string]string{"Origin": c.base, "X-CSRF-Token": c.csrf}); code != 204 {
		t.Errorf("press from the board page: %d", code)
	}
}

type sse struct {
	event string
	data  string
}

func readSSE(t *testing.T, r *bufio.Reader, want string) sse {
	t.Helper()
	var cur sse
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended waiting for %s: %v", want, err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
		case line == "" && cur.event != "":
			if cur.event == want {
				return cur
			}
			cur = sse{}
		}
	}
}

func TestStream(t *testing.T) {
	t.Parallel()
	cfg := testShow(t, "")
	e := newEnv(t, cfg, nil)
	v := e.show.view
	v.Status("a", "online")
	v.Info("a", mqttlink.Info{Started: "2026-03-01T19:00:00.000Z", Link: "ok"})
	v.State(mqttlink.State{Channel: "fly", Station: "a", State: "standby", Label: "23", AckRequested: true, Since: "2026-03-01T19:29:00.000Z", Seq: 1, Epoch: "e1"})
	v.Event(mqttlink.Event{Event: "ack", Channel: "sl", Station: "a", AckMS: 1200, At: "2026-03-01T19:28:00.000Z", Source: "button", Epoch: "e1"})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	var m pageModel
	if err := json.Unmarshal([]byte(readSSE(t, r, "model").data), &m); err != nil {
		t.Fatal(err)
	}
	fly := m.Channels[0]
	if m.Show != "Test show" || len(m.Channels) != 3 || fly.Name != "fly" || fly.State != "standby" || fly.Lamps != 2 || fly.Patterns != [2]string{"slow", "off"} ||
		fly.Since != time.Date(2026, 3, 1, 19, 29, 0, 0, time.UTC).UnixMilli() || !fly.Online || fly.Title != "Fly rail" {
		t.Errorf("model channel: %+v", fly)
	}
	if sl := m.Channels[1]; sl.AckMS == nil || *sl.AckMS != 1200 || sl.Lamps != 1 || sl.State != "" {
		t.Errorf("model sl: %+v", sl)
	}
	if m.Stations[0].Started != time.Date(2026, 3, 1, 19, 0, 0, 0, time.UTC).UnixMilli() || m.Stations[0].Link != "ok" || m.Stations[1].Status != "" {
		t.Errorf("model stations: %+v", m.Stations)
	}
	if m.Patterns.Slow != 1000 || m.Patterns.Fast != 250 || m.Patterns.DoubleBlink != 120 || len(m.Events) != 1 || m.Hold || m.CSRF == "" || m.Now != e.clock.Now().UnixMilli() {
		t.Errorf("model: %+v", m)
	}
	v.State(mqttlink.State{Channel: "sr", Station: "b", State: "hold", Since: "2026-03-01T19:29:30.000Z", Seq: 1, Epoch: "e2"})
	var ch channelJSON
	if err := json.Unmarshal([]byte(readSSE(t, r, "channel").data), &ch); err != nil || ch.Name != "sr" || ch.State != "hold" || ch.Patterns != [2]string{"double", "off"} {
		t.Errorf("channel update: %+v %v", ch, err)
	}
	v.Event(mqttlink.Event{Event: "ack", Channel: "fly", Station: "a", Label: "23", AckMS: 800, Source: "web", Epoch: "e1"})
	var ev eventJSON
	if err := json.Unmarshal([]byte(readSSE(t, r, "ev").data), &ev); err != nil || ev.Source != "web" || ev.AckMS == nil || *ev.AckMS != 800 {
		t.Errorf("event update: %+v %v", ev, err)
	}
	v.Status("b", "offline")
	var st stationJSON
	if err := json.Unmarshal([]byte(readSSE(t, r, "station").data), &st); err != nil || st.Name != "b" || st.Status != "offline" {
		t.Errorf("station update: %+v %v", st, err)
	}
	e.clock.Advance(StreamTick)
	readSSE(t, r, "tick")
}

// FuzzCommand: any body of POST /api/v1/command from an sm is answered
// 202 (sent), 400 or 403, never a panic or a 5xx, and what is sent is one
// of the page verbs with source web.
func FuzzCommand(f *testing.F) {
	for _, s := range []string{`{"channel":"fly","cmd":"ack"}`, `{"channel":"","cmd":"hold"}`, `{"channel":"fly","cmd":"standby","label":"23"}`,
		`{"cmd":"go","label":"23"}`, `{"channel":"fly","cmd":"call_button"}`, `{"channel":"fly","cmd":"standby","label":"a\u0000b"}`, `{"cmd":1}`, `[]`, "\xff"} {
		f.Add(s)
	}
	cfg := testShow(f, "web:\n  desk_go: true\n")
	show := &fakeShow{view: showview.New(cfg)}
	h, err := New(Options{Station: fakeStation{ready: true}, Show: show, Config: cfg, Listen: "127.0.0.1:0"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/api/v1/command", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req) // curl on the station: no login, no browser
		switch rec.Code {
		case 202:
			s, _ := show.last()
			if s.cmd.Source != "web" || !strings.Contains(" standby standby_ack off ack call_button hold release go ", " "+s.cmd.Cmd+" ") || len(s.cmd.Label) > MaxLabel {
				t.Errorf("%q sent %+v", body, s)
			}
		case 400, 403:
		default:
			t.Errorf("%q: %d %s", body, rec.Code, rec.Body)
		}
	})
}

// gateWriter is a ResponseWriter whose writes can be held, as a page
// whose network stalls.
type gateWriter struct {
	mu   sync.Mutex
	buf  strings.Builder
	hdr  http.Header
	hold chan struct{} // non-nil: writes wait until it is closed
}

func (g *gateWriter) Header() http.Header { return g.hdr }
func (g *gateWriter) WriteHeader(int)     {}
func (g *gateWriter) Flush()              {}
func (g *gateWriter) Write(b []byte) (int, error) {
	g.mu.Lock()
	h := g.hold
	g.mu.Unlock()
	if h != nil {
		<-h
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(b)
}
func (g *gateWriter) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}

// TestStreamFallsBehind: a page that stops reading while the view keeps
// changing gets the whole model again when it reads again, with the
// latest state, never a gap.
func TestStreamFallsBehind(t *testing.T) {
	t.Parallel()
	cfg := testShow(t, "")
	show := &fakeShow{view: showview.New(cfg)}
	h, err := New(Options{Station: fakeStation{ready: true}, Show: show, Config: cfg, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	w := &gateWriter{hdr: http.Header{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, "GET", "/events", nil))
		close(done)
	}()
	defer func() { cancel(); <-done }()
	waitUntil := func(what string, f func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !f(w.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s; the stream wrote:\n%.2000s", what, w.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitUntil("the first model", func(s string) bool { return strings.Count(s, "event: model") == 1 })
	release := make(chan struct{})
	w.mu.Lock()
	w.hold = release
	w.mu.Unlock()
	const n = 3 * streamBuffer
	for i := 1; i <= n; i++ {
		show.view.State(mqttlink.State{Channel: "fly", Station: "a", State: "standby", Label: fmt.Sprintf("L%d", i), Since: "2026-03-01T19:29:00.000Z", Seq: int64(i), Epoch: "e1"})
	}
	w.mu.Lock()
	w.hold = nil
	w.mu.Unlock()
	close(release)
	last := fmt.Sprintf(`"label":"L%d"`, n)
	// The stream may fall behind more than once while the updates pour in
	// (seen in CI: a model with L485, then one with the last): what counts
	// is that a model after the first one carries the latest state.
	waitUntil("a later model with the latest state", func(s string) bool {
		i := strings.LastIndex(s, "event: model")
		return strings.Count(s, "event: model") >= 2 && strings.Contains(s[i:], last)
	})
	if c := strings.Count(w.String(), "event: channel"); c >= n {
		t.Errorf("%d channel events: the stream did not fall back to a model", c)
	}
}

// TestBasicAuth: with web.users a script authenticates with HTTP Basic.
func TestBasicAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testShow(t, usersWeb(t, false)), nil)
	anon := e.client(t)
	// a script authenticates with HTTP Basic: a user of role sm may send,
	// others may not; a browser may not use it instead of its session
	basic := func(user, pw string, hdr map[string]string) int {
		req, _ := http.NewRequest("POST", anon.base+"/api/v1/command", strings.NewReader(`{"channel":"fly","cmd":"off"}`))
		req.SetBasicAuth(user, pw)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, b := range []struct {
		user, pw string
		hdr      map[string]string
		want     int
	}{
		{"psm", "psm", nil, 202}, {"psm", "wrong", nil, 401}, {"front", "front", nil, 403},
		{"psm", "psm", map[string]string{"Origin": anon.base}, 401},
	} {
		if got := basic(b.user, b.pw, b.hdr); got != b.want {
			t.Errorf("Basic %s:%s %v: %d, want %d", b.user, b.pw, b.hdr, got, b.want)
		}
	}
}

// TestReportPage: /report serves the show report where the station keeps
// the show log, and says where it is kept otherwise.
func TestReportPage(t *testing.T) {
	t.Parallel()
	cfg := testShow(t, "")
	e := newEnv(t, cfg, nil)
	c := e.client(t)
	if resp, body := c.get("/report"); resp.StatusCode != 404 || !strings.Contains(body, "record:") {
		t.Errorf("/report without a show log: %d %s", resp.StatusCode, body)
	}
	h, err := New(Options{Station: fakeStation{ready: true}, Show: e.show, Config: cfg, Listen: "127.0.0.1:8080",
		Report: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "the report") })})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c2 := &client{t: t, base: srv.URL, hc: c.hc}
	if resp, body := c2.get("/report"); resp.StatusCode != 200 || body != "the report" {
		t.Errorf("/report: %d %q", resp.StatusCode, body)
	}
}

// TestDeskMarkers: the stage manager opens, divides and closes a
// performance from the desk (show markers for the recorder); nobody else
// may.
func TestDeskMarkers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testShow(t, ""), nil)
	c := e.client(t)
	c.get("/")
	for _, k := range []string{"start", "act", "interval", "end"} {
		if code, body := c.command("", "show_"+k, "Evening"); code != http.StatusAccepted {
			t.Errorf("show_%s: %d %s", k, code, body)
		}
	}
	if code, _ := c.command("fly", "show_start", "x"); code != http.StatusBadRequest {
		t.Errorf("show_start with a channel: %d, want 400", code)
	}
	e.show.mu.Lock()
	got := strings.Join(e.show.markers, ",")
	e.show.mu.Unlock()
	if got != "start Evening web,act Evening web,interval Evening web,end Evening web" {
		t.Errorf("markers %q", got)
	}
	if _, body := c.get("/"); !strings.Contains(body, `data-marker="start"`) || !strings.Contains(body, `href="/report"`) {
		t.Error("the desk shows no performance controls or report link")
	}
}
