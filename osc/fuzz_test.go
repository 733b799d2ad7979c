package osc

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzDecode: decoding never panics; whatever decodes re-encodes, and
// decoding that again gives an equal packet and the same bytes; the
// zero-copy Decoder agrees with Decode.
func FuzzDecode(f *testing.F) {
	for _, c := range wireCases {
		f.Add(c.raw)
	}
	var dec Decoder
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data)
		p2, err2 := dec.Decode(data)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("Decode err %v, Decoder err %v", err, err2)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("decode error %v does not match ErrMalformed", err)
			}
			return
		}
		if !PacketEqual(p, p2) {
			t.Fatalf("Decode %v, Decoder %v", p, p2)
		}
		enc, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %v but cannot encode it: %v", p, err)
		}
		p3, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-decode of % x: %v", enc, err)
		}
		if !PacketEqual(p, p3) {
			t.Fatalf("round trip changed the packet:\n%v\n%v", p, p3)
		}
		enc2, _ := p3.MarshalBinary()
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n% x\n% x", enc, enc2)
		}
		if canon := withTypeTags(data); !bytes.Equal(enc, canon) {
			t.Fatalf("accepted input is not canonical:\nin  % x\nout % x", canon, enc)
		}
	})
}

// withTypeTags returns a valid packet with the one non-canonical form the
// decoder accepts, a message without a type-tag string, made canonical by
// adding ",\0\0\0". Everything else the decoder accepts is canonical.
func withTypeTags(data []byte) []byte {
	if data[0] == '/' {
		addrLen := (bytes.IndexByte(data, 0) + 4) &^ 3
		if addrLen == len(data) {
			return cat(data, []byte(",\x00\x00\x00"))
		}
		return data
	}
	out := append([]byte(nil), data[:16]...)
	for off := 16; off < len(data); {
		size := int(data[off])<<24 | int(data[off+1])<<16 | int(data[off+2])<<8 | int(data[off+3])
		out = append(out, elem(withTypeTags(data[off+4:off+4+size]))...)
		off += 4 + size
	}
	return out
}

// FuzzMatch: matching never panics and, on inputs up to 64 bytes, agrees
// with the slow reference matcher, with and without "//"; a compiled Pattern and a
// Dispatcher agree with Match.
func FuzzMatch(f *testing.F) {
	for _, c := range matchCases {
		f.Add(c.pattern, c.address, false)
	}
	f.Add("//go", "/cuelight/fly/go", true)
	f.Add("/*a*a*a*a*a*a*b", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false)
	f.Add("/{a,aa,aaa}{a,aa,aaa}b", "/aaaaaaab", false)
	f.Add("/[!]-a][]a-]", "/]]", false)
	f.Fuzz(func(t *testing.T, pattern, address string, pw bool) {
		o := MatchOptions{PathWildcard: pw}
		got := o.Match(pattern, address)
		if len(pattern) <= 64 && len(address) <= 64 {
			if want := refMatch(pattern, address, pw); got != want {
				t.Fatalf("Match(%q, %q, //=%v) = %v, reference %v", pattern, address, pw, got, want)
			}
		}
		p, err := Compile(pattern, o)
		if err != nil {
			if got {
				t.Fatalf("Compile(%q) failed (%v) but Match is true", pattern, err)
			}
		} else if pm := p.Match(address); pm != got {
			t.Fatalf("compiled %q: Match(%q) = %v, Match = %v", pattern, address, pm, got)
		}
		if ValidateAddress(address) == nil {
			d := &Dispatcher{PathWildcard: pw}
			_ = d.Handle(address, func(*Message, *Sender) {})
			if n := d.DispatchMessage(NewMessage(pattern), nil); (n == 1) != got {
				t.Fatalf("Dispatcher delivered %d for pattern %q to %q; Match = %v", n, pattern, address, got)
			}
		}
	})
}

// futureSeeds are bundles for FuzzDispatchFuture: future, past and
// immediate tags, nested both ways (relative to fuzzNow).
func futureSeeds() map[string][]byte {
	tag := func(d time.Duration) TimeTag { return TimeTagFrom(fuzzNow.Add(d)) }
	out := map[string][]byte{}
	for name, p := range map[string]Packet{
		"future":              NewBundle(tag(time.Second), NewMessage("/cuelight/fly/go", String("23"))),
		"far future":          NewBundle(tag(time.Hour), NewMessage("/cuelight/fly/go")),
		"past":                NewBundle(tag(-time.Second), NewMessage("/cuelight/fly/go")),
		"future in immediate": NewBundle(Immediately, NewMessage("/a"), NewBundle(tag(2*time.Second), NewMessage("/b")), NewMessage("/c")),
		"earlier in future":   NewBundle(tag(3*time.Second), NewBundle(tag(time.Second), NewMessage("/a")), NewBundle(tag(5*time.Second), NewMessage("/b"))),
		"past in future":      NewBundle(tag(time.Second), NewBundle(tag(-time.Hour), NewMessage("/a"))),
	} {
		b, err := p.MarshalBinary()
		if err != nil {
			panic(err)
		}
		out[name] = b
	}
	return out
}

var fuzzNow = time.Date(2026, 5, 17, 19, 30, 0, 0, time.UTC)

// FuzzDispatchFuture: in DeliverFuture mode a decoded packet's messages
// are all delivered at once, exactly once, in packet order, each with the
// latest future time tag around it as Due; nothing is ever held.
func FuzzDispatchFuture(f *testing.F) {
	for _, c := range wireCases {
		f.Add(c.raw)
	}
	for _, b := range futureSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data)
		if err != nil {
			return
		}
		type got struct {
			addr string
			due  time.Time
		}
		var want, seen []got
		var walk func(p Packet, due time.Time)
		walk = func(p Packet, due time.Time) {
			switch p := p.(type) {
			case *Message:
				want = append(want, got{p.Address, due})
			case *Bundle:
				if !p.Time.IsImmediate() && p.Time.Time().After(fuzzNow) && p.Time.Time().After(due) {
					due = p.Time.Time()
				}
				for _, e := range p.Elements {
					walk(e, due)
				}
			}
		}
		walk(p, time.Time{})
		d := &Dispatcher{DeliverFuture: true}
		d.SetFallback(func(m *Message, from *Sender) { seen = append(seen, got{m.Address, from.Due()}) })
		d.Dispatch(p, NewSender(netip.MustParseAddrPort("127.0.0.1:1"), "udp", nil), fuzzNow)
		if len(seen) != len(want) {
			t.Fatalf("delivered %d messages, want %d", len(seen), len(want))
		}
		for i := range want {
			if seen[i].addr != want[i].addr || !seen[i].due.Equal(want[i].due) {
				t.Fatalf("message %d: %v, want %v", i, seen[i], want[i])
			}
		}
		if st := d.Stats(); st.Pending != 0 || st.Scheduled != 0 || st.Dropped != 0 {
			t.Fatalf("DeliverFuture held or dropped something: %+v", st)
		}
	})
}

// FuzzFramer: for both framings (and detection), splitting a stream never
// panics, never yields a frame over the limit, does not depend on how the
// bytes arrive, and what it yields, framed again, splits back the same.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("\xc0abcd\xc0\xc0efgh\xc0"), uint8(1))
	f.Add(hx("c0 2f780000 2c690000 dbdc dbdd 0001 c0"), uint8(3))
	f.Add(hx("00000010 2f637565 2f310000 2c690000 00000005"), uint8(2))
	f.Add(hx("00000010 2f656f73 2f70696e 67000000 2c000000 00000000"), uint8(5))
	f.Add([]byte("\xc0a\xdbxb\xc0good\xc0\xdb"), uint8(0))
	f.Add(cat(u32(0x7fffffff), []byte("abcd")), uint8(7))
	const max = 64
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		for _, fr := range []Framing{0, LengthPrefix, SLIP} {
			whole, wholeErr := readAll(stream, fr, max, 1<<20)
			bits, bitsErr := readAll(stream, fr, max, 1+int(chunk%13))
			if fmt.Sprint(whole) != fmt.Sprint(bits) || (wholeErr == nil) != (bitsErr == nil) {
				t.Fatalf("framing %v: chunking changed the result:\n%q %v\n%q %v", fr, whole, wholeErr, bits, bitsErr)
			}
			var again []byte
			var payloads []string
			use := fr
			if use == 0 {
				use = LengthPrefix
				if len(stream) > 0 && stream[0] == slipEnd {
					use = SLIP
				}
			}
			for _, p := range whole {
				if strings.HasPrefix(p, "!") {
					continue
				}
				if len(p) > max || len(p) == 0 {
					t.Fatalf("framing %v: frame of %d bytes (limit %d)", fr, len(p), max)
				}
				payloads = append(payloads, p)
				if use == SLIP {
					again = appendSLIP(again, []byte(p))
				} else {
					again = append(cat(again, u32(uint32(len(p)))), p...)
				}
			}
			back, err := readAll(again, use, max, 1+int(chunk%7))
			if err != nil || fmt.Sprint(back) != fmt.Sprint(payloads) {
				t.Fatalf("framing %v: re-framed payloads came back as %q, %v; want %q", use, back, err, payloads)
			}
		}
	})
}

var writeSeeds = flag.Bool("write-fuzz-seeds", false, "rewrite the seed corpus in testdata/fuzz from the wire table")

// TestWriteFuzzSeeds writes testdata/fuzz/<FuzzName>/ seed files when run
// with -write-fuzz-seeds; otherwise it checks that the seed folders exist.
func TestWriteFuzzSeeds(t *testing.T) {
	type seed struct {
		name string
		vals []any
	}
	seeds := map[string][]seed{}
	for _, c := range wireCases {
		seeds["FuzzDecode"] = append(seeds["FuzzDecode"], seed{"wire-" + c.name, []any{c.raw}})
	}
	for _, c := range matchCases {
		seeds["FuzzMatch"] = append(seeds["FuzzMatch"], seed{"match-" + c.name, []any{c.pattern, c.address, false}})
	}
	seeds["FuzzMatch"] = append(seeds["FuzzMatch"],
		seed{"hostile stars", []any{"/*a*a*a*a*a*a*b", "/" + strings.Repeat("a", 200), false}},
		seed{"path wildcard", []any{"/cuelight//go", "/cuelight/fly/go", true}})
	for _, c := range wireCases {
		seeds["FuzzDispatchFuture"] = append(seeds["FuzzDispatchFuture"], seed{"wire-" + c.name, []any{c.raw}})
	}
	for name, b := range futureSeeds() {
		seeds["FuzzDispatchFuture"] = append(seeds["FuzzDispatchFuture"], seed{name, []any{b}})
	}
	for _, c := range wireCases {
		seeds["FuzzFramer"] = append(seeds["FuzzFramer"],
			seed{"lp-" + c.name, []any{cat(u32(uint32(len(c.raw))), c.raw), uint8(3)}},
			seed{"slip-" + c.name, []any{appendSLIP(nil, c.raw), uint8(1)}})
	}
	for name, list := range seeds {
		dir := filepath.Join("testdata", "fuzz", name)
		if !*writeSeeds {
			if _, err := os.Stat(dir); err != nil {
				t.Errorf("seed folder %s missing (run go test -run TestWriteFuzzSeeds -write-fuzz-seeds)", dir)
			}
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			var b strings.Builder
			b.WriteString("go test fuzz v1\n")
			for _, v := range s.vals {
				switch v := v.(type) {
				case []byte:
					fmt.Fprintf(&b, "[]byte(%q)\n", v)
				case string:
					fmt.Fprintf(&b, "string(%q)\n", v)
				case bool:
					fmt.Fprintf(&b, "bool(%v)\n", v)
				case uint8:
					fmt.Fprintf(&b, "byte(%q)\n", v)
				}
			}
			file := filepath.Join(dir, "seed-"+strings.NewReplacer(" ", "-", "/", "_", "'", "").Replace(s.name))
			if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
