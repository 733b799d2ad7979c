package osc

import (
	"bytes"
	"errors"
	"image/color"
	"math"
	"strings"
	"testing"
	"time"
)

func TestDecodeWireTable(t *testing.T) {
	t.Parallel()
	for _, c := range wireCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, err := Decode(c.raw)
			if c.err != nil {
				if !errors.Is(err, c.err) || p != nil {
					t.Fatalf("Decode = %v, %v; want nil, an error matching %v", p, err, c.err)
				}
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("error %v does not match ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !PacketEqual(p, c.pkt) {
				t.Fatalf("Decode =\n  %v\nwant\n  %v", p, c.pkt)
			}
		})
	}
}

func TestDecoderWireTable(t *testing.T) {
	t.Parallel()
	var d Decoder // one decoder for the whole table: reuse must not leak state
	for _, c := range wireCases {
		raw := append([]byte(nil), c.raw...)
		p, err := d.Decode(raw)
		if c.err != nil {
			if !errors.Is(err, c.err) || p != nil {
				t.Errorf("%s: Decoder.Decode = %v, %v; want an error matching %v", c.name, p, err, c.err)
			}
			continue
		}
		if err != nil || !PacketEqual(p, c.pkt) {
			t.Errorf("%s: Decoder.Decode = %v, %v; want %v", c.name, p, err, c.pkt)
		}
	}
}

func TestEncodeWireTable(t *testing.T) {
	t.Parallel()
	for _, c := range validCases() {
		if c.nonCanonical {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.pkt.MarshalBinary()
			if err != nil {
				t.Fatalf("MarshalBinary: %v", err)
			}
			if !bytes.Equal(got, c.raw) {
				t.Fatalf("MarshalBinary =\n  % x\nwant\n  % x", got, c.raw)
			}
			prefix := []byte("keep")
			got, err = c.pkt.AppendBinary(prefix)
			if err != nil || !bytes.Equal(got, append([]byte("keep"), c.raw...)) {
				t.Fatalf("AppendBinary(prefix) = % x, %v", got, err)
			}
		})
	}
}

func TestNonCanonicalEncodesWithTypeTags(t *testing.T) {
	t.Parallel()
	for _, c := range validCases() {
		if !c.nonCanonical {
			continue
		}
		b, err := c.pkt.MarshalBinary()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		p, err := Decode(b)
		if err != nil || !PacketEqual(p, c.pkt) {
			t.Fatalf("%s: re-decoded %v, %v", c.name, p, err)
		}
		if bytes.Equal(b, c.raw) {
			t.Fatalf("%s: marked non-canonical but encodes to the same bytes", c.name)
		}
	}
}

func TestDecodeDoesNotAliasInput(t *testing.T) {
	t.Parallel()
	raw := NewMessage("/a", String("hello"), Blob([]byte{1, 2, 3, 4}))
	b, _ := raw.MarshalBinary()
	p, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'X'
	}
	if !PacketEqual(p, raw) {
		t.Fatalf("Decode result changed with its input: %v", p)
	}
}

func TestDecoderAliasesInput(t *testing.T) {
	t.Parallel()
	var d Decoder
	b, _ := NewMessage("/a", String("hello")).MarshalBinary()
	p, err := d.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := p.(*Message).Args[0].String()
	kept := p.(*Message).Clone()
	copy(b[8:], "jello")
	if got, _ := p.(*Message).Args[0].String(); got != "jello" {
		t.Fatalf("Decoder string = %q, want it to alias the buffer (%q)", got, s)
	}
	if got, _ := kept.Args[0].String(); got != "hello" {
		t.Fatalf("Clone = %q, want an independent copy", got)
	}
}

func TestDecoderBlobCannotGrowIntoNeighbours(t *testing.T) {
	t.Parallel()
	var d Decoder
	b, _ := NewMessage("/a", Blob([]byte{1}), String("next")).MarshalBinary()
	p, err := d.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	blob, _ := p.(*Message).Args[0].Blob()
	_ = append(blob, 9, 9, 9, 9, 9, 9, 9, 9) // must reallocate, not overwrite "next"
	if s, _ := p.(*Message).Args[1].String(); s != "next" {
		t.Fatalf("appending to a blob overwrote the next argument: %q", s)
	}
}

func TestDecoderMaxDepth(t *testing.T) {
	t.Parallel()
	raw := nestBundle(msgB1, 3)
	if _, err := (&Decoder{MaxDepth: 2}).Decode(raw); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("depth 3 with MaxDepth 2: err = %v, want ErrTooDeep", err)
	}
	if _, err := (&Decoder{MaxDepth: 3}).Decode(raw); err != nil {
		t.Fatalf("depth 3 with MaxDepth 3: %v", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	self := NewBundle(Immediately)
	self.Elements = append(self.Elements, self)
	deepArray := Int32(1)
	for i := 0; i < maxArrayDepth+1; i++ {
		deepArray = Array(deepArray)
	}
	for _, c := range []struct {
		name string
		p    Packet
	}{
		{"empty address", NewMessage("")},
		{"address without slash", NewMessage("cue/go")},
		{"NUL in address", NewMessage("/a\x00b")},
		{"NUL in string", NewMessage("/a", String("x\x00y"))},
		{"NUL in symbol", NewMessage("/a", Symbol("\x00"))},
		{"zero Arg", NewMessage("/a", Arg{})},
		{"zero Arg in array", NewMessage("/a", Array(Int32(1), Arg{}))},
		{"arrays too deep", NewMessage("/a", deepArray)},
		{"nil message in bundle", NewBundle(Immediately, (*Message)(nil))},
		{"nil element in bundle", NewBundle(Immediately, nil)},
		{"bad message in bundle", NewBundle(Immediately, NewMessage("x"))},
		{"bundle containing itself", self},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			prefix := []byte{1, 2, 3, 4}
			out, err := c.p.AppendBinary(prefix)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("AppendBinary err = %v, want ErrInvalid", err)
			}
			if !bytes.Equal(out, []byte{1, 2, 3, 4}) {
				t.Fatalf("AppendBinary returned % x on error, want the input unchanged", out)
			}
		})
	}
}

func TestMessageUnmarshalBinary(t *testing.T) {
	t.Parallel()
	var m Message
	if err := m.UnmarshalBinary(hx("2f637565 6c696768 742f666c 792f676f 00000000 2c730000 32330000")); err != nil {
		t.Fatal(err)
	}
	if !m.Equal(NewMessage("/cuelight/fly/go", String("23"))) {
		t.Fatalf("got %v", &m)
	}
	if err := m.UnmarshalBinary(bHead); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bundle into Message: err = %v", err)
	}
}

func TestMessageString(t *testing.T) {
	t.Parallel()
	m := NewMessage("/a", Int32(1), Float32(0.5), String("x y"), Symbol("s"), Blob([]byte{1, 0xab}),
		Char('c'), MIDI(0x90, 1, 2, 3), Color(color.RGBA{1, 2, 3, 4}), Bool(true), Bool(false), Nil(), Inf(),
		Array(Int64(-2), Float64(1e100)), Time(0xED003780_80000000))
	want := `/a ,ifsSbcmrTFNI[hd]t 1 0.5 "x y" 's blob [2b 01 ab] 'c' MIDI [90 01 02 03] RGBA [01 02 03 04] #T #F Nil Infinitum [-2 1e+100] ed003780.80000000`
	if got := m.String(); got != want {
		t.Fatalf("String() =\n  %s\nwant\n  %s", got, want)
	}
	if got := m.TypeTags(); got != ",ifsSbcmrTFNI[hd]t" {
		t.Fatalf("TypeTags() = %q", got)
	}
	b := NewBundle(Immediately, NewMessage("/x"), NewBundle(TimeTagFrom(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))))
	if got, want := b.String(), "#bundle immediately [/x ,; #bundle 2026-01-01T00:00:00Z []]"; got != want {
		t.Fatalf("Bundle.String() = %q, want %q", got, want)
	}
}

func TestArgAccessors(t *testing.T) {
	t.Parallel()
	// Each accessor answers for its own type only.
	if v, ok := Int32(-7).Int32(); !ok || v != -7 {
		t.Errorf("Int32: %v %v", v, ok)
	}
	if _, ok := Int32(1).Int64(); ok {
		t.Error("Int32 arg answered Int64")
	}
	if v, ok := Int64(-1 << 40).Int64(); !ok || v != -1<<40 {
		t.Errorf("Int64: %v %v", v, ok)
	}
	if v, ok := Float32(0.25).Float32(); !ok || v != 0.25 {
		t.Errorf("Float32: %v %v", v, ok)
	}
	if v, ok := Float64(math.Pi).Float64(); !ok || v != math.Pi {
		t.Errorf("Float64: %v %v", v, ok)
	}
	for _, a := range []Arg{String("23"), Symbol("23")} {
		if v, ok := a.String(); !ok || v != "23" {
			t.Errorf("%v.String(): %q %v", a, v, ok)
		}
	}
	for _, a := range []Arg{Int32(23), Float32(23), Blob([]byte("23")), Char('2')} {
		if _, ok := a.String(); ok {
			t.Errorf("%v (%c) answered String: a label must come only from s or S", a, a.Type())
		}
	}
	if v, ok := Blob([]byte{1}).Blob(); !ok || !bytes.Equal(v, []byte{1}) {
		t.Errorf("Blob: %v %v", v, ok)
	}
	if v, ok := Time(42).Time(); !ok || v != 42 {
		t.Errorf("Time: %v %v", v, ok)
	}
	if v, ok := Char('é').Char(); !ok || v != 'é' {
		t.Errorf("Char: %v %v", v, ok)
	}
	if v, ok := Color(color.RGBA{1, 2, 3, 4}).Color(); !ok || v != (color.RGBA{1, 2, 3, 4}) {
		t.Errorf("Color: %v %v", v, ok)
	}
	if v, ok := MIDI(1, 2, 3, 4).MIDI(); !ok || v != [4]byte{1, 2, 3, 4} {
		t.Errorf("MIDI: %v %v", v, ok)
	}
	if v, ok := Bool(true).Bool(); !ok || !v {
		t.Errorf("Bool(true): %v %v", v, ok)
	}
	if v, ok := Bool(false).Bool(); !ok || v {
		t.Errorf("Bool(false): %v %v", v, ok)
	}
	if v, ok := Array(Int32(1)).Array(); !ok || len(v) != 1 {
		t.Errorf("Array: %v %v", v, ok)
	}
	if Nil().Type() != TypeNil || Inf().Type() != TypeInf || (Arg{}).Type() != 0 {
		t.Error("Type() of Nil/Inf/zero")
	}
}

func TestArgNumberAndTruth(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name           string
		a              Arg
		num            float64
		numOK          bool
		truth, truthOK bool
	}{
		{"int32 press", Int32(1), 1, true, true, true},
		{"int32 release", Int32(0), 0, true, false, true},
		{"negative int32", Int32(-1), -1, true, true, true},
		{"int64", Int64(1 << 40), 1 << 40, true, true, true},
		{"int64 zero", Int64(0), 0, true, false, true},
		{"float press", Float32(1), 1, true, true, true},
		{"float release", Float32(0), 0, true, false, true},
		{"negative zero is a release", Float32(float32(math.Copysign(0, -1))), math.Copysign(0, -1), true, false, true},
		{"double", Float64(0.5), 0.5, true, true, true},
		{"true", Bool(true), 0, false, true, true},
		{"false", Bool(false), 0, false, false, true},
		{"string is not a button", String("1"), 0, false, false, false},
		{"nil", Nil(), 0, false, false, false},
		{"impulse", Inf(), 0, false, false, false},
	} {
		n, nok := c.a.Number()
		tr, tok := c.a.Truth()
		if n != c.num || nok != c.numOK || tr != c.truth || tok != c.truthOK {
			t.Errorf("%s: Number = %v,%v Truth = %v,%v; want %v,%v %v,%v", c.name, n, nok, tr, tok, c.num, c.numOK, c.truth, c.truthOK)
		}
	}
	if v, ok := Float32(float32(math.NaN())).Truth(); !v || !ok {
		t.Error("NaN should read as a press")
	}
}

func TestArgEqual(t *testing.T) {
	t.Parallel()
	nan := Float64(math.NaN())
	if !nan.Equal(nan) {
		t.Error("NaN must equal the same NaN bits")
	}
	if Float32(0).Equal(Float32(float32(math.Copysign(0, -1)))) {
		t.Error("0 and -0 must differ")
	}
	if String("a").Equal(Symbol("a")) {
		t.Error("s and S must differ")
	}
	if !Blob(nil).Equal(Blob([]byte{})) {
		t.Error("nil and empty blob must be equal")
	}
	if Array(Int32(1)).Equal(Array(Int32(2))) {
		t.Error("different arrays equal")
	}
	if !NewMessage("/a").Equal(&Message{Address: "/a", Args: []Arg{}}) {
		t.Error("nil and empty Args must be equal")
	}
}

func TestCloneIsDeep(t *testing.T) {
	t.Parallel()
	blob := []byte{1, 2}
	inner := []Arg{Int32(1)}
	orig := NewBundle(5<<32, NewMessage("/a", Blob(blob), Array(inner...)))
	c := ClonePacket(orig).(*Bundle)
	blob[0] = 9
	inner[0] = Int32(9)
	if !PacketEqual(c, NewBundle(5<<32, NewMessage("/a", Blob([]byte{1, 2}), Array(Int32(1))))) {
		t.Fatalf("clone shares memory: %v", c)
	}
}

func TestEncodeStringPadding(t *testing.T) {
	t.Parallel()
	// Padding is computed on len+1: 0..3 characters take 4 bytes, 4..7 take 8.
	for n := 0; n < 12; n++ {
		s := strings.Repeat("x", n)
		b := appendString(nil, s)
		if want := (n/4 + 1) * 4; len(b) != want {
			t.Errorf("len %d: %d bytes, want %d", n, len(b), want)
		}
		if b[n] != 0 {
			t.Errorf("len %d: no terminating NUL", n)
		}
	}
}
