package web

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cuelight/cuelight/internal/mqttlink"
)

// TestBrowserLogin: with web.users the desk asks for a login; each role
// sees what it may do; a POST without the page's token is refused.
func TestBrowserLogin(t *testing.T) {
	e := newEnv(t, testShow(t, usersWeb(t, false)), nil)
	ctx := browser(t, 1024, 768)
	login := func(user string) {
		t.Helper()
		run(t, ctx, chromedp.Navigate(e.srv.URL+"/wing/fly"))
		waitFor(t, ctx, "the login page", loginReady)
		run(t, ctx, chromedp.SendKeys("input[name=user]", user), chromedp.SendKeys("input[name=password]", user),
			chromedp.Click("form button[type=submit]"))
		waitFor(t, ctx, "the wing page after the login", `location.pathname === "/wing/fly" && `+wingReady)
	}
	login("flyop")
	if !eval[bool](t, ctx, `!document.getElementById("ack").disabled && !document.getElementById("call").disabled`) {
		t.Errorf("crew of fly: ACK and CALL disabled on fly's wing page")
	}
	run(t, ctx, chromedp.Navigate(e.srv.URL+"/wing/sr"))
	waitFor(t, ctx, "sr's wing page", `location.pathname === "/wing/sr" && `+wingReady)
	if !eval[bool](t, ctx, `document.getElementById("ack").disabled`) {
		t.Errorf("crew of fly: ACK enabled on sr's wing page")
	}
	// a request without the page's CSRF token is refused; with it, sent
	st := eval[int](t, ctx, `fetch("/api/v1/command", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({channel: "fly", cmd: "ack"})}).then(r => r.status)`)
	if st != 403 {
		t.Errorf("POST without the CSRF token from the page: %d, want 403", st)
	}
	run(t, ctx, chromedp.Navigate(e.srv.URL+"/wing/fly"))
	waitFor(t, ctx, "live", `document.getElementById("conn").textContent === "live"`)
	_, before := e.show.last()
	run(t, ctx, chromedp.Click("#ack"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s, n := e.show.last(); n == before+1 {
			if s.channel != "fly" || s.cmd.Cmd != "ack" || s.cmd.Source != "web" {
				t.Errorf("the ACK button sent %+v", s)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ACK button sent nothing")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// the viewer sees the desk without controls
	run(t, ctx, chromedp.Navigate(e.srv.URL+"/"))
	waitFor(t, ctx, "the desk", `document.readyState === "complete" && document.body.dataset.page === "desk" && !!document.querySelector("nav form button")`)
	run(t, ctx, chromedp.Click("nav form button"))
	waitFor(t, ctx, "logged out", loginReady)
	run(t, ctx, chromedp.SendKeys("input[name=user]", "front"), chromedp.SendKeys("input[name=password]", "front"), chromedp.Click("form button[type=submit]"))
	waitFor(t, ctx, "the viewer's desk", `document.body.dataset.page === "desk" && document.querySelectorAll(".ch").length === 3`)
	if n := eval[int](t, ctx, `document.querySelectorAll("button.cmd").length`); n != 0 {
		t.Errorf("viewer's desk has %d command buttons", n)
	}
	// the sm's desk has every control but no GO (desk_go is false)
	run(t, ctx, chromedp.Click("nav form button"))
	waitFor(t, ctx, "logged out", loginReady)
	run(t, ctx, chromedp.SendKeys("input[name=user]", "psm"), chromedp.SendKeys("input[name=password]", "psm"), chromedp.Click("form button[type=submit]"))
	waitFor(t, ctx, "the sm's desk", `document.body.dataset.page === "desk" && document.querySelectorAll(".ch .ctl").length === 3`)
	if eval[bool](t, ctx, `!!document.getElementById("goask") || [...document.querySelectorAll("button")].some(b => /GO/.test(b.textContent))`) {
		t.Errorf("a GO control without desk_go")
	}
	if !eval[bool](t, ctx, `!!document.querySelector("button[data-cmd=hold]") && !!document.querySelector("button[data-cmd=release]")`) {
		t.Errorf("no hold and release on the sm's desk")
	}
}

// TestBrowserDeskFake: the desk follows the show view, shows words as
// well as the lamp, and GO needs a confirm step.
func TestBrowserDeskFake(t *testing.T) {
	e := newEnv(t, testShow(t, "web:\n  desk_go: true\n"), nil)
	v := e.show.view
	now := time.Now().UTC()
	v.Status("a", "online")
	v.Status("b", "offline")
	v.Info("a", mqttlink.Info{Started: mqttlink.FormatTime(now.Add(-time.Minute)), Link: "ok"})
	ctx := browser(t, 1024, 768)
	run(t, ctx, chromedp.Navigate(e.srv.URL+"/"))
	waitFor(t, ctx, "the desk", `document.querySelectorAll(".ch").length === 3 && document.getElementById("conn").textContent === "live"`)
	v.State(mqttlink.State{Channel: "fly", Station: "a", State: "standby", Label: "23", AckRequested: true, Since: mqttlink.FormatTime(now), Seq: 1, Epoch: "e1"})
	waitFor(t, ctx, "fly standing by", `document.getElementById("ch-fly").dataset.state === "standby"`)
	txt := eval[string](t, ctx, `document.getElementById("ch-fly").innerText`)
	for _, w := range []string{"Standby, ACK requested", "cue 23", "Fly rail"} {
		if !contains(txt, w) {
			t.Errorf("fly's row %q lacks %q", txt, w)
		}
	}
	if !contains(eval[string](t, ctx, `document.getElementById("st-b").innerText`), "OFFLINE") {
		t.Errorf("station b offline is not said")
	}
	v.Event(mqttlink.Event{Event: "ack", Channel: "fly", Station: "a", Label: "23", AckMS: 1400, Source: "button", At: mqttlink.FormatTime(now), Epoch: "e1"})
	v.State(mqttlink.State{Channel: "fly", Station: "a", State: "ack", Label: "23", AckRequested: true, Since: mqttlink.FormatTime(now.Add(1400 * time.Millisecond)), Seq: 2, Epoch: "e1"})
	waitFor(t, ctx, "fly acknowledged, with its ack time", `document.getElementById("ch-fly").dataset.state === "ack" && /ACK after 1.4 s/.test(document.getElementById("ch-fly").innerText)`)
	waitFor(t, ctx, "the ack in the events", `/fly ack cue 23 after 1.4 s from button/.test(document.getElementById("events").innerText)`)
	waitFor(t, ctx, "the status region says it", `/fly ack/.test(document.querySelector("[role=status]").textContent)`)
	// hold latch
	v.State(mqttlink.State{Channel: "sl", Station: "a", State: "hold", Since: mqttlink.FormatTime(now.Add(2 * time.Second)), Seq: 1, Epoch: "e1"})
	waitFor(t, ctx, "the hold latch", `document.getElementById("hold").classList.contains("on") && /HOLD/.test(document.getElementById("hold").textContent)`)
	// GO with a confirm step
	run(t, ctx, chromedp.SendKeys("#golabel", "23"), chromedp.Click("#goask"))
	waitFor(t, ctx, "the confirm step", `!document.getElementById("goconfirm").hidden`)
	if _, n := e.show.last(); n != 0 {
		t.Fatalf("GO sent before the confirm")
	}
	run(t, ctx, chromedp.Click("#gosure"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s, n := e.show.last(); n == 1 {
			if s.channel != "" || s.cmd.Cmd != "go" || s.cmd.Label != "23" || s.cmd.Source != "web" {
				t.Errorf("GO sent as %+v", s)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the confirmed GO was not sent")
		}
		time.Sleep(20 * time.Millisecond)
	}
	screenshot(t, ctx, "desk")

	// a one-lamp GO is the fast flash (4 a second by default): the picture
	// flashes 3 a second at most
	v.State(mqttlink.State{Channel: "sl", Station: "a", State: "go", Label: "9", Since: mqttlink.FormatTime(now.Add(3 * time.Second)), Seq: 2, Epoch: "e1"})
	waitFor(t, ctx, "sl GO", `document.getElementById("ch-sl").dataset.state === "go"`)
	// every change of the picture's class, whatever the screen's frame rate
	flashes := eval[int](t, ctx, `new Promise(done => {
		const el = document.querySelector("#ch-sl .lamp");
		let last = el.classList.contains("lit"), on = 0;
		const mo = new MutationObserver(() => { const l = el.classList.contains("lit"); if (l && !last) on++; last = l; });
		mo.observe(el, {attributes: true, attributeFilter: ["class"]});
		setTimeout(() => { mo.disconnect(); done(on); }, 2000); })`)
	t.Logf("fast flash drawn: %d flashes in 2 s", flashes)
	if flashes < 4 || flashes > 7 {
		t.Errorf("the fast flash is drawn with %d flashes in 2 s, want 4 to 7 (3 a second at most, and flashing)", flashes)
	}
}

// TestBrowserPhone: the wing page at 320 px: nothing wider than the
// screen, touch targets of 48 px at least, the lamp fills the screen, and
// the state in words; then the stream drops and the page says LINK LOST
// and shows no state.
func TestBrowserPhone(t *testing.T) {
	e := newEnv(t, testShow(t, ""), nil)
	v := e.show.view
	now := time.Now().UTC()
	v.Status("a", "online")
	v.Info("a", mqttlink.Info{Started: mqttlink.FormatTime(now.Add(-time.Minute)), Link: "ok"})
	v.State(mqttlink.State{Channel: "fly", Station: "a", State: "standby", Label: "23", AckRequested: false, Since: mqttlink.FormatTime(now), Seq: 1, Epoch: "e1"})
	ctx := browser(t, 320, 640)
	run(t, ctx, chromedp.EmulateViewport(320, 640, chromedp.EmulateMobile, chromedp.EmulateTouch), chromedp.Navigate(e.srv.URL+"/wing/fly"))
	waitFor(t, ctx, "the wing page standing by", `document.body.dataset.state === "standby" && document.getElementById("label").textContent === "23"`)
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 320 {
		t.Errorf("the wing page is %d px wide at 320", w)
	}
	small := eval[[]string](t, ctx, `[...document.querySelectorAll("button, a, input")].filter(e => e.offsetParent && (e.getBoundingClientRect().height < 44 || e.getBoundingClientRect().width < 44) && !e.closest(".note")).map(e => e.outerHTML)`)
	if len(small) > 0 {
		t.Errorf("touch targets under 48 px: %v", small)
	}
	if h := eval[float64](t, ctx, `document.getElementById("ack").getBoundingClientRect().height`); h < 48 {
		t.Errorf("ACK is %v px high", h)
	}
	if h := eval[float64](t, ctx, `document.getElementById("lamp").getBoundingClientRect().height`); h < 300 {
		t.Errorf("the lamp is %v px high on a 640 px screen", h)
	}
	if !eval[bool](t, ctx, `document.getElementById("lamp").classList.contains("lit-sb") && /Standby/.test(document.getElementById("state").textContent)`) {
		t.Errorf("steady standby: the lamp is not lit or the words are missing")
	}
	if bg := eval[string](t, ctx, `getComputedStyle(document.body).backgroundColor`); bg != "rgb(0, 0, 0)" {
		t.Errorf("background %s, want black", bg)
	}
	wake := eval[string](t, ctx, `document.getElementById("wake").textContent`)
	if !contains(wake, "kept awake") && !contains(wake, "cannot keep") && !contains(wake, "cannot be kept") {
		t.Errorf("wake lock: %q", wake)
	}
	screenshot(t, ctx, "wing")
	// the desk and the board at 320 px too
	run(t, ctx, chromedp.Navigate(e.srv.URL+"/"))
	waitFor(t, ctx, "the desk at 320 px", `document.getElementById("conn").textContent === "live" && document.querySelectorAll(".ch").length === 3`)
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 320 {
		t.Errorf("the desk is %d px wide at 320", w)
	}
	small = eval[[]string](t, ctx, `[...document.querySelectorAll("button, input")].filter(e => e.offsetParent && e.getBoundingClientRect().height < 44).map(e => e.outerHTML)`)
	if len(small) > 0 {
		t.Errorf("desk controls under 48 px: %v", small)
	}
	screenshot(t, ctx, "desk-320")
	run(t, ctx, chromedp.Navigate(e.srv.URL+"/wing/fly"))
	waitFor(t, ctx, "the wing page again", `document.body.dataset.state === "standby"`)
	e.srv.CloseClientConnections()
	e.srv.Config.SetKeepAlivesEnabled(false)
	e.srv.Listener.Close() // the station is gone
	waitFor(t, ctx, "LINK LOST", `!document.getElementById("lost").hidden && document.getElementById("lamp").classList.contains("linklost")`)
	if s := eval[string](t, ctx, `document.getElementById("state").textContent + "|" + document.getElementById("label").textContent`); s != "—|" {
		t.Errorf("without a stream the page still shows %q", s)
	}
	screenshot(t, ctx, "wing-link-lost")
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// blackhole is a TCP proxy whose open connections can go silent, as a
// phone's do when it sleeps: nothing arrives, nothing is closed.
type blackhole struct {
	ln     net.Listener
	mu     sync.Mutex
	silent bool
}

func newBlackhole(t *testing.T, to string) *blackhole {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			pipe := func(dst, src net.Conn) {
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if err != nil {
						dst.Close()
						return
					}
					b.mu.Lock()
					drop := b.silent
					b.mu.Unlock()
					if !drop {
						dst.Write(buf[:n])
					}
				}
			}
			go pipe(s, c)
			go pipe(c, s)
		}
	}()
	return b
}

func (b *blackhole) url() string { return "http://" + b.ln.Addr().String() }

// TestBrowserWake: the wing page's connection goes silent (the phone
// sleeps) while the show moves on; when the phone wakes the page
// reconnects and shows the current state, and never again the old one.
func TestBrowserWake(t *testing.T) {
	e := newEnv(t, testShow(t, ""), nil)
	v := e.show.view
	now := time.Now().UTC()
	v.Status("a", "online")
	v.Info("a", mqttlink.Info{Started: mqttlink.FormatTime(now.Add(-time.Minute)), Link: "ok"})
	v.State(mqttlink.State{Channel: "fly", Station: "a", State: "standby", Label: "51", Since: mqttlink.FormatTime(now), Seq: 1, Epoch: "e1"})
	bh := newBlackhole(t, e.srv.Listener.Addr().String())
	ctx := browser(t, 390, 844)
	run(t, ctx, chromedp.Navigate(bh.url()+"/wing/fly"))
	waitFor(t, ctx, "standby 51", `document.body.dataset.state === "standby" && document.getElementById("label").textContent === "51"`)

	bh.mu.Lock()
	bh.silent = true
	bh.mu.Unlock()
	// the show moves on while the phone sleeps: 51 is cancelled, 52 given
	v.State(mqttlink.State{Channel: "fly", Station: "a", State: "off", Since: mqttlink.FormatTime(now.Add(time.Second)), Seq: 2, Epoch: "e1"})
	v.State(mqttlink.State{Channel: "fly", Station: "a", State: "standby", Label: "52", Since: mqttlink.FormatTime(now.Add(2 * time.Second)), Seq: 3, Epoch: "e1"})
	time.Sleep(3500 * time.Millisecond) // asleep for longer than the page trusts a quiet stream on waking
	bh.mu.Lock()
	bh.silent = false // the network is back, the old connection stays dead (its bytes were lost)
	bh.mu.Unlock()
	eval[bool](t, ctx, `(() => { window.shown = []; new MutationObserver(() => window.shown.push(document.body.dataset.state + "/" + document.getElementById("label").textContent))
		.observe(document.body, {subtree: true, attributes: true, childList: true, characterData: true});
		document.dispatchEvent(new Event("visibilitychange")); return true; })()`) // the phone wakes
	waitFor(t, ctx, "standby 52 after waking", `document.body.dataset.state === "standby" && document.getElementById("label").textContent === "52"`)
	for _, s := range eval[[]string](t, ctx, `window.shown`) {
		if strings.Contains(s, "51") {
			t.Errorf("after waking the page showed the old standby: %q", s)
		}
	}
}

// loginReady and wingReady are true once the page has loaded and the
// elements the test uses are in place: typing into a page still loading
// finds stale nodes, and reading it finds none.
const loginReady = `location.pathname === "/login" && document.readyState === "complete" && !!document.querySelector("input[name=user]")`
const wingReady = `document.readyState === "complete" && document.body.dataset.page === "wing" && !!document.getElementById("ack") && !!document.getElementById("call")`
