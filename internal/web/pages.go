package web

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/drivers/sim"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/showview"
)

// The desk (/), wing (/wing/<ch>) and board (/board) pages (docs/web.md).

//go:embed assets
var assets embed.FS

var pageTemplates = template.Must(template.ParseFS(assets, "assets/*.html"))

// ShowStation is what the pages read and send: the whole show as the
// station sees it over MQTT, and commands sent as MQTT commands (or, on a
// station without MQTT, applied to its own channels).
type ShowStation interface {
	Show() *showview.View
	SendCommand(ctx context.Context, channel string, c mqttlink.Command) error
}

// Options configures New.
type Options struct {
	Station Station        // the API's reads
	Show    ShowStation    // the pages' reads and commands; nil: the API alone
	Board   *sim.Board     // nil unless the station drives the sim board
	Config  *config.Config // channels, patterns, web.users, web.desk_go
	// Listen is the web listener's address; beyond loopback New refuses
	// to serve without web.users.
	Listen string
	Clock  clockwork.Clock // default: the real clock
	Logger *slog.Logger    // default: discard
	// Report serves the show report (GET /report, docs/report.md) to any
	// logged-in user, or anyone on a loopback listener; nil when the
	// station keeps no show log: /report then says where it is kept.
	Report http.Handler
}

// ErrNoUsers is returned by New for a listener beyond loopback without
// web.users.
var ErrNoUsers = errors.New("web: a listener beyond loopback needs web.users")

type handler struct {
	show    ShowStation
	board   *sim.Board
	cfg     *config.Config
	auth    *auth
	model   *modeler
	clock   clockwork.Clock
	log     *slog.Logger
	streams atomic.Int64
}

// New returns the API and the pages.
func New(o Options) (http.Handler, error) {
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Listen != "" && !config.IsLoopback(o.Listen) && len(o.Config.Web.Users) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoUsers, o.Listen)
	}
	h := &handler{show: o.Show, board: o.Board, cfg: o.Config, auth: newAuth(o.Config.Web.Users, o.Clock),
		model: newModeler(o.Config), clock: o.Clock, log: o.Logger}
	mux := http.NewServeMux()
	registerAPI(mux, o.Station, o.Board, h.guard)
	if o.Show == nil {
		return securityHeaders(mux), nil // the API alone
	}
	static, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(static)
	mux.HandleFunc("GET /static/{file}", func(w http.ResponseWriter, r *http.Request) {
		if f := r.PathValue("file"); f != "cuelight.js" && f != "cuelight.css" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		http.StripPrefix("/static", files).ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /{$}", h.desk)
	mux.HandleFunc("GET /wing/{ch}", h.wing)
	mux.HandleFunc("GET /wing/{$}", h.desk)
	mux.HandleFunc("GET /board", h.boardPage)
	mux.HandleFunc("GET /report", func(w http.ResponseWriter, r *http.Request) {
		if h.withSession(w, r) == nil {
			return
		}
		if o.Report == nil {
			http.Error(w, "this station keeps no show log: the report is on the station with record: in the show file (docs/report.md)", http.StatusNotFound)
			return
		}
		o.Report.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /events", h.stream)
	mux.HandleFunc("GET /login", h.loginPage)
	mux.HandleFunc("POST /login", h.login)
	mux.HandleFunc("POST /logout", h.logout)
	mux.HandleFunc("POST /api/v1/command", h.command)
	return securityHeaders(mux), nil
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
		next.ServeHTTP(w, r)
	})
}

// guard protects the API's writes: role sm and the CSRF token (without
// web.users a write needs the token only when a browser sends it, see
// auth.post). Its reads (channels, stats, pins) stay open like /healthz:
// monitoring, cuectl bench and the tests read them, and what must be
// protected on a show LAN is control. The pages and their stream need a
// login when web.users is set.
func (h *handler) guard(w http.ResponseWriter, r *http.Request, write bool) bool {
	if write {
		return h.auth.post(w, r, roleSM) != nil
	}
	return true
}

type pageData struct {
	Page       string // desk, wing, board, login
	Title      string
	Show       string
	CSRF       string
	Role       string
	User       string
	LoggedIn   bool
	DeskGo     bool
	Channel    string
	ChanTitle  string
	CanAck     bool
	Error      string
	Next       string
	Channels   []config.Channel
	HasBoard   bool
	NeedsLogin bool
}

func (h *handler) page(w http.ResponseWriter, r *http.Request, name string, d pageData) {
	d.Page, d.Show, d.HasBoard, d.NeedsLogin = name, h.cfg.Show, h.board != nil, !h.auth.open
	d.Channels = h.cfg.Channels
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pageTemplates.ExecuteTemplate(w, name+".html", d); err != nil {
		h.log.Warn("web page", "page", name, "err", err.Error())
	}
}

// withSession returns the page's session or redirects to the login.
func (h *handler) withSession(w http.ResponseWriter, r *http.Request) *session {
	s := h.auth.forPage(w, r)
	if s == nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
	}
	return s
}

func (h *handler) data(s *session, title string) pageData {
	return pageData{Title: title, CSRF: s.csrf, Role: s.role.String(), User: s.user, LoggedIn: s.user != "",
		DeskGo: h.cfg.Web.DeskGo && s.role == roleSM}
}

func (h *handler) desk(w http.ResponseWriter, r *http.Request) {
	if s := h.withSession(w, r); s != nil {
		h.page(w, r, "desk", h.data(s, "Desk"))
	}
}

func (h *handler) wing(w http.ResponseWriter, r *http.Request) {
	ch, ok := h.cfg.Channel(r.PathValue("ch"))
	if !ok {
		http.Error(w, "no channel "+r.PathValue("ch")+" in this show", http.StatusNotFound)
		return
	}
	if s := h.withSession(w, r); s != nil {
		d := h.data(s, ch.Label)
		d.Channel, d.ChanTitle, d.CanAck = ch.Name, ch.Label, s.canAck(ch.Name)
		h.page(w, r, "wing", d)
	}
}

func (h *handler) boardPage(w http.ResponseWriter, r *http.Request) {
	if h.board == nil {
		http.Error(w, "the board page exists only on the sim driver (stations.<name>.driver: sim)", http.StatusNotFound)
		return
	}
	if s := h.withSession(w, r); s != nil {
		h.page(w, r, "board", h.data(s, "Sim board"))
	}
}

func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

// loginCookie holds the login form's CSRF token (double submit): the form
// carries the same value. Nothing is kept on the station before a login,
// so a flood of login pages cannot push out anyone's session.
const loginCookie = "cuelight_login"

func (h *handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if h.auth.open {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 3600})
	h.page(w, r, "login", pageData{Title: "Log in", CSRF: tok, Next: safeNext(r.URL.Query().Get("next"))})
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	c, err := r.Cookie(loginCookie)
	if h.auth.open || err != nil || !csrfOK(r, &session{csrf: c.Value}) {
		writeError(w, http.StatusForbidden, "missing or wrong CSRF token: reload the login page")
		return
	}
	again := pageData{Title: "Log in", CSRF: c.Value, Next: safeNext(r.PostFormValue("next"))}
	if !h.auth.allowLogin(r) {
		w.Header().Set("Retry-After", fmt.Sprint(int(LoginEvery/time.Second)))
		w.WriteHeader(http.StatusTooManyRequests)
		again.Error = "Too many attempts: wait a few seconds and try again."
		h.page(w, r, "login", again)
		return
	}
	u, ok := h.auth.check(r.PostFormValue("user"), r.PostFormValue("password"))
	if !ok {
		h.log.Warn("web login refused", "user", r.PostFormValue("user"), "from", r.RemoteAddr)
		w.WriteHeader(http.StatusUnauthorized)
		again.Error = "Wrong user name or password."
		h.page(w, r, "login", again)
		return
	}
	if old := h.auth.session(r); old != nil {
		h.auth.drop(old) // a new session token after every login
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	h.auth.newSession(w, r, u.Name, roleOf(u.Role), u.Channels)
	h.log.Info("web login", "user", u.Name, "role", u.Role, "from", r.RemoteAddr)
	http.Redirect(w, r, again.Next, http.StatusSeeOther)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	s := h.auth.session(r)
	if s == nil || !csrfOK(r, s) {
		writeError(w, http.StatusForbidden, "missing or wrong CSRF token: reload the page")
		return
	}
	h.auth.drop(s)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// commandRequest is the body of POST /api/v1/command.
type commandRequest struct {
	Channel string `json:"channel"` // "" for the show: hold, release, cue GO
	Cmd     string `json:"cmd"`
	Label   string `json:"label"`
}

// MaxLabel is the longest cue label the pages send.
const MaxLabel = 64

// check returns why s may not send c, or "" when it may.
func (h *handler) check(s *session, c commandRequest) (code int, msg string) {
	if len(c.Label) > MaxLabel || strings.IndexFunc(c.Label, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }) >= 0 {
		return http.StatusBadRequest, fmt.Sprintf("a label is at most %d printable characters", MaxLabel)
	}
	show := func() (int, string) {
		if c.Channel != "" {
			return http.StatusBadRequest, c.Cmd + " is for the whole show: leave channel empty"
		}
		return 0, ""
	}
	channel := func() (int, string) {
		if _, ok := h.cfg.Channel(c.Channel); !ok {
			return http.StatusBadRequest, fmt.Sprintf("no channel %q in this show", c.Channel)
		}
		return 0, ""
	}
	sm := func() (int, string) {
		if s.role != roleSM {
			return http.StatusForbidden, "role " + s.role.String() + " may not send " + c.Cmd
		}
		return 0, ""
	}
	var checks []func() (int, string)
	switch c.Cmd {
	case "hold", "release", "show_start", "show_act", "show_interval", "show_end":
		checks = []func() (int, string){show, sm}
	case "go":
		checks = []func() (int, string){show, sm, func() (int, string) {
			if !h.cfg.Web.DeskGo {
				return http.StatusForbidden, "GO from a web page is off (web.desk_go: false)"
			}
			if c.Label == "" {
				return http.StatusBadRequest, "a cue GO needs the cue's label"
			}
			return 0, ""
		}}
	case "standby", "standby_ack", "off":
		checks = []func() (int, string){channel, sm}
	case "ack", mqttlink.CmdCallButton:
		checks = []func() (int, string){channel, func() (int, string) {
			if !s.canAck(c.Channel) {
				return http.StatusForbidden, "role " + s.role.String() + " may not press " + c.Cmd + " on " + c.Channel
			}
			return 0, ""
		}}
	default:
		return http.StatusBadRequest, fmt.Sprintf("unknown command %q: standby, standby_ack, off, ack, call_button, hold, release, go", c.Cmd)
	}
	for _, f := range checks {
		if code, msg := f(); code != 0 {
			return code, msg
		}
	}
	return 0, ""
}

func commandID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "web-" + hex.EncodeToString(b[:])
}

// CommandTTL is the ttl_ms of the commands the pages send.
const CommandTTL = 2 * time.Second

func (h *handler) command(w http.ResponseWriter, r *http.Request) {
	s := h.auth.post(w, r, roleViewer)
	if s == nil {
		return
	}
	var c commandRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		writeError(w, http.StatusBadRequest, `body must be {"channel":"fly","cmd":"ack","label":""}`)
		return
	}
	if code, msg := h.check(s, c); code != 0 {
		writeError(w, code, msg)
		return
	}
	if kind, ok := strings.CutPrefix(c.Cmd, "show_"); ok {
		h.marker(w, s, kind, c.Label)
		return
	}
	cmd := mqttlink.Command{ID: commandID(), Cmd: c.Cmd, Label: c.Label, TS: mqttlink.FormatTime(h.clock.Now()),
		TTLMS: CommandTTL.Milliseconds(), Source: "web"}
	ctx, cancel := context.WithTimeout(r.Context(), CommandTTL)
	defer cancel()
	if err := h.show.SendCommand(ctx, c.Channel, cmd); err != nil {
		h.log.Warn("web command not sent", "channel", c.Channel, "cmd", c.Cmd, "user", s.user, "err", err.Error())
		writeError(w, http.StatusBadGateway, "not sent: "+err.Error())
		return
	}
	h.log.Info("web command", "channel", c.Channel, "cmd", c.Cmd, "label", c.Label, "user", s.user, "id", cmd.ID)
	writeJSON(w, http.StatusAccepted, map[string]string{"id": cmd.ID})
}

// marker opens, divides or closes a performance from the desk: a show
// marker on MQTT that the recorder files (docs/report.md), as
// /cuelight/show/<kind> over OSC does.
func (h *handler) marker(w http.ResponseWriter, s *session, kind, name string) {
	m, ok := h.show.(interface {
		PublishMarker(kind, name, source string) error
	})
	if !ok {
		writeError(w, http.StatusNotImplemented, "this station cannot send show markers")
		return
	}
	if err := m.PublishMarker(kind, name, "web"); err != nil {
		h.log.Warn("web show marker not sent", "kind", kind, "user", s.user, "err", err.Error())
		writeError(w, http.StatusBadGateway, "not sent: "+err.Error())
		return
	}
	h.log.Info("web show marker", "kind", kind, "name", name, "user", s.user)
	writeJSON(w, http.StatusAccepted, map[string]string{"marker": kind})
}
