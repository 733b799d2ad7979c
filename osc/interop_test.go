package osc

// Interop with liblo 0.31, a peer nobody here wrote: oscsend talks to our
// server, and oscdump prints what our client sends. The tests skip when the
// programs are missing, and fail then under CUELIGHT_REQUIRE_PEERS=1.

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cuelight/cuelight/internal/peertest"
)

// oscsendCases: every type oscsend 0.31 can send (it has no b and no t).
var oscsendCases = []struct {
	name string
	args []string // address, types, values
	want *Message
}{
	{"int32", []string{"/i", "i", "-42"}, NewMessage("/i", Int32(-42))},
	{"int64", []string{"/h", "h", "-5000000000"}, NewMessage("/h", Int64(-5000000000))},
	{"float32", []string{"/f", "f", "3.14"}, NewMessage("/f", Float32(3.14))},
	{"float64", []string{"/d", "d", "2.25"}, NewMessage("/d", Float64(2.25))},
	{"string UTF-8", []string{"/s", "s", "café 23"}, NewMessage("/s", String("café 23"))},
	{"symbol", []string{"/S", "S", "sym"}, NewMessage("/S", Symbol("sym"))},
	{"char", []string{"/c", "c", "x"}, NewMessage("/c", Char('x'))},
	{"midi", []string{"/m", "m", "90ff0102"}, NewMessage("/m", MIDI(0x90, 0xff, 0x01, 0x02))},
	{"true false nil inf", []string{"/TFNI", "TFNI"}, NewMessage("/TFNI", Bool(true), Bool(false), Nil(), Inf())},
	{"no arguments", []string{"/noargs"}, NewMessage("/noargs")},
	{"all together", []string{"/a", "ihfdsScmTFNI", "42", "-5000000000", "0.5", "2.25", "str", "sym", "x", "90ff0102"},
		NewMessage("/a", Int32(42), Int64(-5000000000), Float32(0.5), Float64(2.25), String("str"), Symbol("sym"),
			Char('x'), MIDI(0x90, 0xff, 0x01, 0x02), Bool(true), Bool(false), Nil(), Inf())},
	{"cue label", []string{"/cuelight/fly/go", "s", "23.5"}, NewMessage("/cuelight/fly/go", String("23.5"))},
}

func TestInteropOscsendToServer(t *testing.T) {
	t.Parallel()
	oscsend := peertest.Need(t, "oscsend")
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			k := newSink()
			d := &Dispatcher{}
			d.SetFallback(k.handle)
			s := startServer(t, Options{}, d)
			port := strconv.Itoa(int(s.Addr().Port()))
			for _, c := range oscsendCases {
				target := []string{"127.0.0.1", port}
				if network == "tcp" {
					target = []string{"osc.tcp://127.0.0.1:" + port}
				}
				out, err := exec.Command(oscsend, append(target, c.args...)...).CombinedOutput()
				if err != nil {
					t.Fatalf("%s: oscsend: %v\n%s", c.name, err, out)
				}
				got := k.next(t)
				if !got.Equal(c.want) {
					t.Errorf("%s: received %v, want %v", c.name, got, c.want)
				}
				from := <-k.from
				if from.Network() != network || (network == "tcp" && from.Framing() != LengthPrefix) {
					t.Errorf("%s: sender %v framing %v", c.name, &from, from.Framing())
				}
			}
			if st := s.Stats(); st.Malformed != 0 || st.Received != uint64(len(oscsendCases)) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestInteropOscsendPatternDispatch(t *testing.T) {
	t.Parallel()
	oscsend := peertest.Need(t, "oscsend")
	k := newSink()
	d := &Dispatcher{}
	for _, a := range []string{"/cuelight/fly/go", "/cuelight/sl/go", "/cuelight/sr/go"} {
		_ = d.Handle(a, func(m *Message, from *Sender) { k.handle(NewMessage(a, m.Args...), from) })
	}
	s := startServer(t, Options{}, d)
	out, err := exec.Command(oscsend, "127.0.0.1", strconv.Itoa(int(s.Addr().Port())), "/cuelight/{sl,sr}/go", "s", "23").CombinedOutput()
	if err != nil {
		t.Fatalf("oscsend: %v\n%s", err, out)
	}
	for _, want := range []string{"/cuelight/sl/go", "/cuelight/sr/go"} {
		if m := k.next(t); m.Address != want {
			t.Fatalf("delivered to %s, want %s", m.Address, want)
		}
	}
}

// dumpPeer is a running `oscdump -L` and a client connected to it.
type dumpPeer struct {
	client *Client
	lines  <-chan string
}

// oscdump starts `oscdump -L osc.<network>://:port` on a free port and
// connects a client to it (framing f for TCP). The port is found by binding
// and closing; if oscdump cannot have it after all, another is tried.
//
// Readiness: over TCP the client's own connection is retried until oscdump
// accepts it. A separate probe connection is not used: liblo 0.31 loses
// track of the next connection's data after a probe connection closes
// (observed: the second message never printed). Over UDP, probe messages are
// sent until one is printed.
func oscdump(t *testing.T, network string, f Framing) dumpPeer {
	t.Helper()
	bin := peertest.Need(t, "oscdump")
	for try := 0; try < 5; try++ {
		port := freePort(t)
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, "-L", fmt.Sprintf("osc.%s://:%d", network, port))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ch := make(chan string, 100)
		exited := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				ch <- sc.Text()
			}
			close(ch)
			_ = cmd.Wait()
			close(exited)
		}()
		t.Cleanup(func() { cancel(); <-exited })
		if c := connectDump(t, network, f, port, ch, exited); c != nil {
			t.Cleanup(func() { c.Close() })
			return dumpPeer{client: c, lines: ch}
		}
		t.Logf("oscdump on port %d did not start (%s); trying another port", port, strings.TrimSpace(stderr.String()))
	}
	t.Fatal("could not start oscdump")
	return dumpPeer{}
}

// freePort returns a port that was free for UDP and TCP a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		l.Close()
		if err == nil {
			u.Close()
			return p
		}
	}
}

// connectDump returns a client once oscdump is ready, nil if it exited.
func connectDump(t *testing.T, network string, f Framing, port int, lines <-chan string, exited <-chan struct{}) *Client {
	t.Helper()
	deadline := time.After(patience)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if network == "tcp" {
		for {
			if c, err := DialTCP(addr, f); err == nil {
				return c
			}
			select {
			case <-exited:
				return nil
			case <-deadline:
				t.Fatal("oscdump never accepted a TCP connection")
			case <-tick.C:
			}
		}
	}
	c, err := DialUDP(addr)
	if err != nil {
		t.Fatal(err)
	}
	for {
		_ = c.Send(NewMessage("/ready"))
		select {
		case line, ok := <-lines:
			if !ok {
				c.Close()
				return nil
			}
			if strings.Contains(line, " /ready") {
				// Skip the other probes in flight, then it is ready.
				_ = c.Send(NewMessage("/ready/last"))
				for line := range lines {
					if strings.Contains(line, " /ready/last") {
						return c
					}
				}
				c.Close()
				return nil
			}
		case <-exited:
			c.Close()
			return nil
		case <-deadline:
			t.Fatal("oscdump never printed the probe")
		case <-tick.C:
		}
	}
}

// dumpLine is one oscdump output line, split into fields.
type dumpLine struct {
	tt, path, types string
	args            []string // one entry per argument
}

// parseDump splits `<sec>.<frac> <path> <types> <args...>`; quoted strings,
// and bracketed blobs and MIDI, are one argument each.
func parseDump(t *testing.T, line string) dumpLine {
	t.Helper()
	f := strings.SplitN(line, " ", 4)
	if len(f) < 3 {
		t.Fatalf("oscdump line %q", line)
	}
	d := dumpLine{tt: f[0], path: f[1], types: f[2]}
	rest := ""
	if len(f) == 4 {
		rest = f[3]
	}
	for rest != "" {
		var end int
		switch {
		case rest[0] == '"':
			end = strings.Index(rest[1:], `"`) + 2
		case strings.HasPrefix(rest, "MIDI ["), rest[0] == '[':
			end = strings.Index(rest, "]") + 1
		default:
			end = strings.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
		}
		if end <= 0 {
			t.Fatalf("cannot split arguments of %q", line)
		}
		d.args = append(d.args, rest[:end])
		rest = strings.TrimPrefix(rest[end:], " ")
	}
	return d
}

// checkDumpArg compares one printed argument with what was sent.
func checkDumpArg(t *testing.T, got string, a Arg) {
	t.Helper()
	bad := func() { t.Errorf("oscdump printed %q for %c argument %v", got, a.Type(), a) }
	switch a.Type() {
	case TypeInt32, TypeInt64:
		n, err := strconv.ParseInt(got, 10, 64)
		want, _ := a.Number()
		if err != nil || float64(n) != want {
			bad()
		}
	case TypeFloat32, TypeFloat64:
		f, err := strconv.ParseFloat(got, 64)
		want, _ := a.Number()
		if err != nil || math.Abs(f-want) > 1e-6*math.Max(1, math.Abs(want)) {
			bad()
		}
	case TypeString:
		s, _ := a.String()
		if got != `"`+s+`"` {
			bad()
		}
	case TypeSymbol:
		s, _ := a.String()
		if got != "'"+s {
			bad()
		}
	case TypeChar:
		c, _ := a.Char()
		if got != "'"+string(c)+"'" {
			bad()
		}
	case TypeMIDI:
		m, _ := a.MIDI()
		if got != fmt.Sprintf("MIDI [0x%02x 0x%02x 0x%02x 0x%02x]", m[0], m[1], m[2], m[3]) {
			bad()
		}
	case TypeBlob:
		b, _ := a.Blob()
		want := fmt.Sprintf("[%db ", len(b))
		for _, c := range b {
			want += fmt.Sprintf("0x%x ", c)
		}
		if got != strings.TrimSuffix(want, " ")+"]" && got != want+"]" {
			bad()
		}
	case TypeTime:
		tt, _ := a.Time()
		if got != fmt.Sprintf("%08x.%08x", tt.Seconds(), tt.Fraction()) {
			bad()
		}
	case TypeTrue, TypeFalse, TypeNil, TypeInf:
		if got != map[Type]string{TypeTrue: "#T", TypeFalse: "#F", TypeNil: "Nil", TypeInf: "Infinitum"}[a.Type()] {
			bad()
		}
	default:
		t.Fatalf("no oscdump format known for %c", a.Type())
	}
}

func TestInteropClientToOscdump(t *testing.T) {
	t.Parallel()
	past := TimeTagFrom(time.Now().Add(-time.Hour).Truncate(time.Second))
	inner := past + 1<<32 // one second later, still past
	packets := []Packet{
		NewMessage("/cuelight/fly/go", String("23")),
		NewMessage("/all", Int32(-42), Int64(-5000000000), Float32(0.5), Float64(2.25), String("café"),
			Symbol("sym"), Char('x'), MIDI(0x90, 0xff, 0x01, 0x02), Bool(true), Bool(false), Nil(), Inf()),
		NewMessage("/blob", Blob([]byte{1, 2, 0xab})),
		NewMessage("/emptyblob", Blob(nil)),
		NewMessage("/time", Time(Immediately), Time(past)),
		NewMessage("/noargs"),
		NewBundle(past, NewMessage("/b/1", Int32(1)), NewBundle(inner, NewMessage("/b/2", Int32(2))), NewMessage("/b/3", Int32(3))),
	}
	// What oscdump must print for each packet: its messages, and the time
	// tag of each (0: the receive time, not checked).
	type line struct {
		m  *Message
		tt TimeTag
	}
	expect := func(p Packet) []line {
		if m, ok := p.(*Message); ok {
			return []line{{m, 0}}
		}
		return []line{{flatten(p)[0], past}, {flatten(p)[1], inner}, {flatten(p)[2], past}}
	}
	for _, tr := range []struct {
		name    string
		network string
		framing Framing
	}{{"udp", "udp", 0}, {"tcp length-prefix", "tcp", LengthPrefix}, {"tcp slip", "tcp", SLIP}} {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			peer := oscdump(t, tr.network, tr.framing)
			c, lines := peer.client, peer.lines
			// Lock-step: one packet, then its lines. liblo 0.31's TCP server
			// sometimes keeps a decoded SLIP message in its buffer until more
			// bytes arrive on the connection (seen with python as the sender
			// too), so while waiting the test nudges it with /flush messages,
			// which are skipped in the output. It also drops the first SLIP
			// message when its first read is under 4 bytes; our client writes
			// whole frames, so that does not arise.
			nudge := time.NewTicker(50 * time.Millisecond)
			defer nudge.Stop()
			deadline := time.After(patience)
			n := 0
			for _, p := range packets {
				if err := c.Send(p); err != nil {
					t.Fatal(err)
				}
				for _, w := range expect(p) {
					var text string
					for text == "" {
						select {
						case l, ok := <-lines:
							if !ok {
								t.Fatalf("oscdump exited after %d messages", n)
							}
							if !strings.Contains(l, " /flush ") {
								text = l
							}
						case <-nudge.C:
							if err := c.Send(NewMessage("/flush")); err != nil {
								t.Fatal(err)
							}
						case <-deadline:
							t.Fatalf("oscdump did not print %v (after %d messages)", w.m, n)
						}
					}
					n++
					d := parseDump(t, text)
					if d.path != w.m.Address || d.types != strings.TrimPrefix(w.m.TypeTags(), ",") || len(d.args) != len(w.m.Args) {
						t.Fatalf("line %q, want %v", text, w.m)
					}
					for k, a := range w.m.Args {
						checkDumpArg(t, d.args[k], a)
					}
					if w.tt != 0 {
						if want := fmt.Sprintf("%08x.%08x", w.tt.Seconds(), w.tt.Fraction()); d.tt != want {
							t.Errorf("%s: time tag %s, want %s", w.m.Address, d.tt, want)
						}
					}
				}
			}
		})
	}
}
