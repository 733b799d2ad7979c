// cuelight pages: desk (/), wing (/wing/<ch>), sim board (/board).
// One live stream per page (/events); nothing is shown that the stream
// has not said since it last (re)connected.
"use strict";
(() => {
  const B = document.body, PAGE = B.dataset.page;
  if (!PAGE || PAGE === "login") return;
  let CSRF = document.querySelector('meta[name="csrf"]').content;
  const ROLE = B.dataset.role, WING = B.dataset.channel;
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  };
  const WORDS = { off: "Off", standby: "Standby", ack: "Acknowledged", go: "GO", hold: "Hold", lost: "Link lost", "": "No state yet" };
  const GLYPH = { off: "○", standby: "◔", ack: "✓", go: "▶", hold: "■", lost: "✕", "": "?" };
  const ROLES = { standby_lamp: "standby lamp", go_lamp: "go lamp", call_lamp: "call lamp", call_out: "call out", ack_button: "ACK", call_button: "CALL" };
  const MAX_FLASHES = 3; // a second, at most (accessibility)
  const TICK = 15000; // the server's tick

  let M = null; // the model; null or stale while the stream is down
  let live = false, heard = 0, es = null, offset = 0, failures = 0;
  // The station's clock minus the page's: each message says the station's
  // time when it was sent, and arrives some time later, so each sample is
  // low by its delay; the highest since the stream (re)connected is the
  // best estimate. A new stream starts over (the clocks may have moved).
  let offsetSamples = 0;
  function clockSample(now) {
    const o = now - Date.now();
    offset = offsetSamples++ === 0 ? o : Math.max(offset, o);
  }

  // ---- lamp patterns: the shapes of cues/pattern.go, from the station's phase origin
  function shape(p) {
    const P = M.patterns;
    let s;
    switch (p) {
      case "slow": s = { period: P.slow, t: [P.slow / 2], lit: true }; break;
      case "fast": s = { period: P.fast, t: [P.fast / 2], lit: true }; break;
      case "wink": s = { period: P.wink_every, t: [P.wink_on], lit: true }; break;
      case "alternate_first": s = { period: 2 * P.alternate, t: [P.alternate], lit: true }; break;
      case "alternate_second": s = { period: 2 * P.alternate, t: [P.alternate], lit: false }; break;
      case "double": { const b = P.double_blink; s = { period: P.double_every, t: [b, 2 * b, 3 * b], lit: true }; break; }
      default: return null;
    }
    const flashes = (s.t.length + 1) / 2; // lit spans a period
    const min = (flashes * 1000) / MAX_FLASHES;
    if (s.period < min) { // slowed to 3 a second, same shape, same origin
      const k = min / s.period;
      s.period = min;
      s.t = s.t.map((x) => x * k);
    }
    return s;
  }
  const mod = (d, p) => ((d % p) + p) % p;
  function lit(p, d) {
    if (p === "steady") return true;
    const s = shape(p);
    if (!s) return false;
    const m = mod(d, s.period);
    let on = s.lit;
    for (const x of s.t) if (x <= m) on = !on;
    return on;
  }
  function nextEdge(p, d) {
    const s = shape(p);
    if (!s) return Infinity;
    const m = mod(d, s.period);
    for (const x of s.t) if (x > m) return x - m;
    return s.period - m;
  }
  const station = (name) => (M && M.stations.find((s) => s.name === name)) || {};
  const channel = (name) => M && M.channels.find((c) => c.name === name);
  const stationNow = () => Date.now() + offset;

  // lamp views: {ch, els: [standby, go] } or a wing's big lamp
  let lamps = [];
  let paintTimer = 0;
  function paint() {
    clearTimeout(paintTimer);
    if (!M) return;
    const now = stationNow();
    let wait = Infinity;
    for (const v of lamps) {
      const c = channel(v.ch);
      const on = [false, false];
      if (c && live) {
        const d = now - (station(c.station).started || 0);
        for (let i = 0; i < c.lamps; i++) {
          on[i] = lit(c.patterns[i], d);
          wait = Math.min(wait, nextEdge(c.patterns[i], d));
        }
      }
      v.show(on, c);
    }
    if (wait !== Infinity) paintTimer = setTimeout(paint, Math.max(wait, 4));
  }
  function deskLamps(c, box) {
    const els = [el("span", "lamp sb")];
    if (c.lamps === 2) els.push(el("span", "lamp gl"));
    for (const e of els) { e.setAttribute("aria-hidden", "true"); box.append(e); }
    lamps.push({ ch: c.name, show: (on) => els.forEach((e, i) => { e.classList.toggle("lit", on[i]); e.dataset.lit = on[i]; }) });
  }

  // ---- words
  const secs = (ms) => (ms < 10000 ? (ms / 1000).toFixed(1) : Math.round(ms / 1000)) + " s";
  function ago(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    return s < 60 ? s + " s" : Math.floor(s / 60) + " min " + (s % 60) + " s";
  }
  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
  function stateWords(c) {
    let w = WORDS[c.state] || c.state;
    if (c.state === "standby" && c.ack_requested) w += ", ACK requested";
    return w;
  }
  function timesWords(c) {
    const now = stationNow(), out = [];
    if (c.state === "standby" && c.since) out.push("standby " + ago(now - c.since) + " ago");
    if (c.state === "ack" && c.since && c.ack_ms != null) out.push("standby " + ago(now - c.since + c.ack_ms) + " ago");
    if ((c.state === "ack" || c.state === "go") && c.ack_ms != null) out.push("ACK after " + secs(c.ack_ms));
    return out.join(" · ");
  }
  function announce(text) {
    const a = $("announce");
    if (a) a.textContent = text;
  }

  // ---- commands
  async function send(channel, cmd, label) {
    try {
      const r = await fetch("/api/v1/command", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF },
        body: JSON.stringify({ channel, cmd, label: label || "" }),
      });
      if (r.ok) return true;
      let msg = "HTTP " + r.status;
      try { msg = (await r.json()).error; } catch (e) { /* not JSON */ }
      announce("Not sent: " + msg);
    } catch (e) {
      announce("Not sent: no connection to the station");
    }
    return false;
  }
  async function post(url, body) {
    const r = await fetch(url, { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF }, body: JSON.stringify(body || {}) });
    if (!r.ok) announce("Not done: HTTP " + r.status);
  }

  // ---- desk
  let rows = {};
  function buildDesk() {
    const root = $("stations");
    root.replaceChildren();
    rows = {};
    lamps = [];
    for (const st of M.stations) {
      const sec = el("section", "station");
      sec.id = "st-" + st.name;
      const h = el("h2");
      const status = el("span", "badge"), link = el("span", "badge");
      h.append(el("span", null, "Station " + st.name), status, link);
      sec.append(h);
      rows["st:" + st.name] = { status, link };
      for (const c of M.channels.filter((c) => c.station === st.name)) sec.append(deskRow(c));
      root.append(sec);
      updateStation(st);
    }
    const list = $("events");
    list.replaceChildren();
    for (const e of M.events) addEvent(e, false);
  }
  function deskRow(c) {
    const row = el("div", "ch");
    row.id = "ch-" + c.name;
    const box = el("div", "lamps");
    deskLamps(c, box);
    const head = el("div", "head"), word = el("span", "stateword"), cue = el("span", "cue");
    head.append(el("a", "name", c.title), word, cue);
    head.firstChild.href = "/wing/" + c.name;
    const times = el("div", "times");
    row.append(box, head, times);
    if (ROLE === "sm") {
      const ctl = el("div", "ctl"), input = el("input", "label");
      input.maxLength = 64;
      input.placeholder = "cue";
      input.setAttribute("aria-label", "Cue label for " + c.title);
      const b = (text, cmd) => {
        const x = el("button", "cmd", text);
        x.type = "button";
        x.dataset.cmd = cmd;
        x.addEventListener("click", () => send(c.name, cmd, input.value.trim()));
        return x;
      };
      ctl.append(input, b("Standby", "standby"), b("Standby + ACK", "standby_ack"), b("Off", "off"));
      row.append(ctl);
    }
    rows[c.name] = { row, word, cue, times };
    updateRow(c);
    return row;
  }
  function updateRow(c) {
    const r = rows[c.name];
    if (!r) return;
    const st = station(c.station);
    r.row.className = (r.base || "ch") + " s-" + (c.state || "none") + (st.status === "offline" ? " offline" : "");
    r.row.dataset.state = c.state;
    r.row.dataset.label = c.label;
    r.word.textContent = stateWords(c) + (st.status === "offline" ? (c.state ? " (last known: the station is offline)" : " (the station is offline)") : "");
    r.cue.textContent = c.label ? "cue " + c.label : "";
    r.times.textContent = timesWords(c);
  }
  function updateStation(st) {
    const r = rows["st:" + st.name];
    if (!r) return;
    const s = { online: "online", offline: "OFFLINE", "": "not heard yet" }[st.status || ""] || st.status;
    r.status.textContent = s;
    r.status.className = "badge " + (st.status === "online" ? "good" : "bad");
    const l = { ok: "booth link ok", lost: "BOOTH LINK LOST", none: "no booth heartbeat", "": "booth link unknown" }[st.link || ""] || st.link;
    r.link.textContent = l;
    r.link.className = "badge " + (st.link === "lost" ? "bad" : "");
  }
  function updateHold() {
    const h = $("hold");
    if (!h) return;
    const on = M.channels.some((c) => c.state === "hold");
    h.className = "hold " + (on ? "on" : "off");
    h.textContent = on ? "HOLD: the show is held" : "No hold";
  }
  function eventWords(e) {
    const w = [clock(e.at), e.channel, e.event];
    if (e.label) w.push("cue " + e.label);
    if (e.ack_ms != null) w.push("after " + secs(e.ack_ms));
    if (e.unwarned) w.push("(unwarned)");
    if (e.reason) w.push("(" + e.reason + ")");
    w.push("from " + e.source);
    return w.join(" ");
  }
  function addEvent(e, isNew) {
    const list = $("events");
    if (!list) return;
    list.prepend(el("li", "ev-" + e.event, eventWords(e)));
    while (list.children.length > 20) list.lastChild.remove();
    if (isNew) announce(eventWords(e));
  }
  function deskControls() {
    document.querySelectorAll(".showbar button[data-cmd]").forEach((b) => b.addEventListener("click", () => send("", b.dataset.cmd)));
    document.querySelectorAll(".showbar button[data-marker]").forEach((b) => b.addEventListener("click", async () => {
      const name = $("perfname") ? $("perfname").value.trim() : "";
      if (await send("", "show_" + b.dataset.marker, name)) announce("Performance: " + b.textContent + (name ? " (" + name + ")" : ""));
    }));
    const ask = $("goask");
    if (!ask) return;
    const confirm = $("goconfirm"), sure = $("gosure");
    ask.addEventListener("click", () => {
      const label = $("golabel").value.trim();
      if (!label) { announce("Type the cue's label first"); return; }
      sure.textContent = "Confirm GO cue " + label;
      sure.dataset.label = label;
      confirm.hidden = false;
      ask.hidden = true;
      sure.focus();
    });
    const close = () => { confirm.hidden = true; ask.hidden = false; };
    $("gocancel").addEventListener("click", close);
    sure.addEventListener("click", () => { send("", "go", sure.dataset.label); close(); });
  }

  // ---- wing
  function buildWing() {
    lamps = [{ ch: WING, show: showWing }];
    updateWing();
  }
  function lostWhy(c) {
    if (!live) return "No connection to the station: reconnecting…";
    if (!c) return "This channel is not in the show.";
    const st = station(c.station);
    if (st.status === "offline") return "Station " + c.station + " is offline.";
    if (c.state === "lost") return "The station lost the booth.";
    return "";
  }
  function showWing(on, c) {
    const why = lostWhy(c), box = $("lamp");
    let cls = "biglamp";
    if (why && (!live || !c || c.state !== "lost")) cls += " linklost";
    else if (on[1]) cls += " lit-go";
    else if (on[0]) cls += " lit-sb";
    box.className = cls;
    box.dataset.lit = on[0] || on[1];
  }
  function updateWing() {
    const c = channel(WING), why = lostWhy(c);
    $("lost").hidden = !why;
    $("lostwhy").hidden = !why;
    $("lostwhy").textContent = why;
    const show = live && c && !(station(c.station).status === "offline");
    $("state").textContent = show ? stateWords(c) : live ? "Unknown" : "—";
    $("glyph").textContent = show ? GLYPH[c.state] || "?" : "✕";
    $("label").textContent = show && c.label ? c.label : "";
    $("since").textContent = show ? timesWords(c) : "";
    B.dataset.state = show ? c.state : "";
    const text = why ? "LINK LOST. " + why : WORDS[c.state] + (c.label ? ", cue " + c.label : "");
    if ($("announce").textContent !== text) announce(text);
  }
  function wingControls() {
    const press = (id, cmd) => $(id).addEventListener("click", async () => {
      const b = $(id);
      b.classList.add("sent");
      await send(WING, cmd);
      setTimeout(() => b.classList.remove("sent"), 300);
    });
    press("ack", "ack");
    press("call", "call_button");
    keepAwake();
  }
  let lock = null;
  async function keepAwake() {
    const w = $("wake");
    if (!("wakeLock" in navigator)) {
      w.textContent = "This browser cannot keep the screen awake" + (window.isSecureContext ? "" : " on a plain http address") + ": set the phone's auto-lock to Never for the show.";
      return;
    }
    try {
      lock = await navigator.wakeLock.request("screen");
      w.textContent = "The screen is kept awake while this page is open.";
      lock.addEventListener("release", () => { lock = null; });
    } catch (e) {
      w.textContent = "The screen cannot be kept awake (" + e.name + "): set the phone's auto-lock to Never for the show.";
    }
  }

  // ---- board
  let pinEls = {};
  function buildBoard() {
    const root = $("pins");
    root.replaceChildren();
    pinEls = {};
    rows = {};
    lamps = [];
    const by = {};
    for (const p of M.pins || []) (by[p.channel] = by[p.channel] || []).push(p);
    for (const [ch, pins] of Object.entries(by)) {
      const c = channel(ch) || { name: ch, title: ch };
      const sec = el("section", "pinset"), h = el("h2"), word = el("span", "stateword"), cue = el("span", "cue");
      h.append(el("span", "name", c.title + " "), word, el("span", null, " "), cue);
      sec.append(h);
      rows[ch] = { row: sec, base: "pinset", word, cue, times: el("span") };
      const box = el("div", "pins");
      for (const p of pins) box.append(boardPin(p));
      sec.append(box);
      root.append(sec);
      if (c.state !== undefined) updateRow(c);
    }
  }
  function boardPin(p) {
    const d = el("div", "pin");
    d.id = "pin-" + p.name;
    if (p.role === "ack_button" || p.role === "call_button") {
      const b = el("button", null, ROLES[p.role] + " " + p.name);
      b.type = "button";
      let down = 0;
      b.addEventListener("pointerdown", (e) => {
        b.setPointerCapture(e.pointerId);
        down = Date.now();
        b.classList.add("pressed");
        post("/api/v1/pins/" + p.name, { level: true });
      });
      const up = () => {
        if (!down) return;
        const held = Date.now() - down;
        down = 0;
        b.classList.remove("pressed");
        setTimeout(() => post("/api/v1/pins/" + p.name, { level: false }), Math.max(0, 150 - held));
      };
      b.addEventListener("pointerup", up);
      b.addEventListener("pointercancel", up);
      b.addEventListener("click", (e) => { if (e.detail === 0) post("/api/v1/pins/" + p.name + "/press"); });
      d.append(b);
      pinEls[p.name] = { btn: b };
    } else {
      const cls = { go_lamp: "gl", call_lamp: "cl", call_out: "cl" }[p.role] || "sb";
      const l = el("span", "lamp " + cls);
      l.setAttribute("aria-hidden", "true");
      const t = el("span", null, ROLES[p.role] + " " + p.name), s = el("span", "muted");
      d.append(l, t, s);
      pinEls[p.name] = { lamp: l, words: s };
    }
    setPin(p);
    return d;
  }
  function setPin(p) {
    const e = pinEls[p.name];
    if (!e) return;
    if (e.lamp) {
      e.lamp.classList.toggle("lit", p.level);
      e.lamp.dataset.lit = p.level;
      e.lamp.style.background = p.level && p.color ? p.color : ""; // an RGB lamp's colour
      e.words.textContent = p.level ? "lit" : "dark";
    } else {
      e.btn.dataset.level = p.level;
    }
  }

  // ---- the stream
  function setLive(on) {
    live = on;
    B.classList.toggle("stale", !on);
    const c = $("conn");
    if (c) {
      c.textContent = on ? "live" : "NO CONNECTION to the station: reconnecting…";
      c.classList.toggle("down", !on);
    }
    if (!on) {
      if (PAGE !== "wing") announce("No connection to the station: reconnecting. What this page showed may be out of date.");
      for (const k in rows) if (rows[k].word) { rows[k].word.textContent = "—"; rows[k].cue.textContent = ""; rows[k].times.textContent = ""; rows[k].row.dataset.state = ""; }
    }
    if (PAGE === "wing" && M) updateWing();
    paint();
  }
  function onModel(m) {
    offsetSamples = 0;
    clockSample(m.now);
    if (m.csrf) CSRF = m.csrf;
    M = m;
    live = true;
    if (PAGE === "desk") { buildDesk(); updateHold(); }
    if (PAGE === "wing") buildWing();
    if (PAGE === "board") buildBoard();
    setLive(true);
    if (PAGE !== "wing") announce("Connected: " + M.channels.length + " channels of " + M.show);
  }
  function onChannel(c) {
    clockSample(c.now);
    const i = M.channels.findIndex((x) => x.name === c.name);
    if (i < 0) return;
    if (c.ack_ms == null) c.ack_ms = M.channels[i].ack_ms;
    M.channels[i] = c;
    updateRow(c);
    if (PAGE === "desk") updateHold();
    if (PAGE === "wing" && c.name === WING) updateWing();
    paint();
  }
  function onStation(s) {
    const i = M.stations.findIndex((x) => x.name === s.name);
    if (i < 0) return;
    M.stations[i] = s;
    updateStation(s);
    for (const c of M.channels) if (c.station === s.name) updateRow(c);
    if (PAGE === "wing") updateWing();
    paint();
  }
  function onEvent(e) {
    M.events.push(e);
    if (M.events.length > 20) M.events.shift();
    if (e.ack_ms != null) {
      const c = channel(e.channel);
      if (c) { c.ack_ms = e.ack_ms; updateRow(c); }
    }
    addEvent(e, PAGE === "desk");
  }
  function connect() {
    if (es) es.close();
    heard = Date.now(); // the watchdog waits for this attempt
    setLive(false);
    es = new EventSource("/events" + (PAGE === "board" ? "?pins=1" : ""));
    const on = (name, f) => es.addEventListener(name, (e) => { heard = Date.now(); failures = 0; f(JSON.parse(e.data)); });
    on("model", onModel);
    on("channel", (c) => M && live && onChannel(c));
    on("station", (s) => M && live && onStation(s));
    on("ev", (e) => M && live && onEvent(e));
    on("pin", (p) => M && live && setPin(p));
    on("tick", (t) => clockSample(t.now));
    es.onerror = () => {
      setLive(false);
      if (es.readyState === EventSource.CLOSED) { // refused (logged out, or the station restarted and forgot the session)
        if (++failures > 2) location.reload();
        else setTimeout(connect, 2000);
      }
    };
  }
  // a phone that slept, or a page restored from the back/forward cache,
  // gets a fresh stream and shows nothing until it has the current model
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible") return;
    if (!live || Date.now() - heard > 3000) connect();
    if (PAGE === "wing" && !lock) keepAwake();
  });
  window.addEventListener("pageshow", (e) => { if (e.persisted) connect(); });
  document.addEventListener("resume", () => connect()); // a frozen page thawed
  window.addEventListener("online", () => connect()); // the phone's network is back
  setInterval(() => {
    if (Date.now() - heard > 2.5 * TICK) connect();
    if (!M || !live) return;
    for (const c of M.channels) if (rows[c.name]) rows[c.name].times.textContent = timesWords(c);
    if (PAGE === "wing") $("since").textContent = live && channel(WING) ? timesWords(channel(WING)) : "";
  }, 1000);
  heard = Date.now();
  if (PAGE === "desk") deskControls();
  if (PAGE === "wing") wingControls();
  connect();
})();
