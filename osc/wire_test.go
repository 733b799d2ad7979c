package osc

import (
	"encoding/hex"
	"image/color"
	"math"
	"strings"
)

// wireCase is one entry of the wire table: raw bytes and what they decode
// to, or the error they must produce. The same table drives the encoder,
// decoder, server and fuzz-seed tests.
type wireCase struct {
	name   string
	source string // where the bytes come from
	raw    []byte
	pkt    Packet // the decoded value; nil for a malformed case
	err    error  // malformed: the sentinel errors.Is must find
	// nonCanonical: raw decodes to pkt, but pkt encodes differently (the
	// encoder always writes a type-tag string).
	nonCanonical bool
}

// hx decodes hex written with any spacing.
func hx(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// cat concatenates byte slices.
func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// u32 is a big-endian uint32.
func u32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// elem is a bundle element: size then bytes.
func elem(b []byte) []byte { return cat(u32(uint32(len(b))), b) }

const (
	srcSpec  = "OSC 1.0 spec examples"
	srcLiblo = "liblo 0.31 oscsend -"
	srcRef   = "protocols.md, verified with liblo"
	srcOurs  = "hand-built from the OSC 1.0 text"
)

var (
	msgB1 = hx("2f623100 2c690000 00000001")                // /b1 ,i 1
	msgB2 = hx("2f623200 2c730000 78000000")                // /b2 ,s "x"
	noArg = hx("2f6e6f61 72677300 2c000000")                // /noargs ,
	bHead = cat([]byte(bundleTag), hx("00000000 00000001")) // #bundle, immediately
)

// nestBundle wraps inner in depth-1 further bundles.
func nestBundle(inner []byte, depth int) []byte {
	for i := 0; i < depth; i++ {
		inner = cat(bHead, elem(inner))
	}
	return inner
}

func nestedPacket(inner Packet, depth int) Packet {
	for i := 0; i < depth; i++ {
		inner = NewBundle(Immediately, inner)
	}
	return inner
}

func nestedArray(depth int) Arg {
	a := Array()
	for i := 1; i < depth; i++ {
		a = Array(a)
	}
	return a
}

var wireCases = []wireCase{
	// Valid messages.
	{
		name: "spec oscillator float", source: srcSpec,
		raw: hx(`2f6f7363 696c6c61 746f722f 342f6672 65717565 6e637900 2c660000 43dc0000`),
		pkt: NewMessage("/oscillator/4/frequency", Float32(440)),
	},
	{
		name: "spec foo iisff", source: srcSpec,
		raw: hx(`2f666f6f 00000000 2c696973 66660000 000003e8 ffffffff 68656c6c 6f000000 3f9df3b6 40b5b22d`),
		pkt: NewMessage("/foo", Int32(1000), Int32(-1), String("hello"), Float32(1.234), Float32(5.678)),
	},
	{
		name: "liblo iTfs", source: srcLiblo + " /sample/address iTfs 1 3.14 hello",
		raw: hx(`2f73616d 706c652f 61646472 65737300 2c695466 73000000 00000001 4048f5c3 68656c6c 6f000000`),
		pkt: NewMessage("/sample/address", Int32(1), Bool(true), Float32(3.14), String("hello")),
	},
	{
		name: "liblo no arguments", source: srcLiblo + " /noargs",
		raw: noArg,
		pkt: NewMessage("/noargs"),
	},
	{
		name: "liblo every type it sends", source: srcLiblo + " /a ihfdsScmTFNI 42 -5000000000 0.5 2.25 str sym x 90ff0102",
		raw: hx(`2f610000 2c696866 64735363 6d54464e 49000000 0000002a fffffffe d5fa0e00 3f000000 40020000
			00000000 73747200 73796d00 00000078 90ff0102`),
		pkt: NewMessage("/a", Int32(42), Int64(-5000000000), Float32(0.5), Float64(2.25), String("str"),
			Symbol("sym"), Char('x'), MIDI(0x90, 0xff, 0x01, 0x02), Bool(true), Bool(false), Nil(), Inf()),
	},
	{
		name: "liblo cue go with label", source: srcLiblo + " /cuelight/fly/go s 23",
		raw: hx(`2f637565 6c696768 742f666c 792f676f 00000000 2c730000 32330000`),
		pkt: NewMessage("/cuelight/fly/go", String("23")),
	},
	{
		name: "liblo string of 4 bytes gets 4 NULs", source: srcLiblo + " /s s data",
		raw: hx(`2f730000 2c730000 64617461 00000000`),
		pkt: NewMessage("/s", String("data")),
	},
	{
		name: "liblo UTF-8 string", source: srcLiblo + " /u s café",
		raw: hx(`2f750000 2c730000 636166c3 a9000000`),
		pkt: NewMessage("/u", String("café")),
	},
	{
		name: "liblo empty string", source: srcLiblo + " /z s ''",
		raw: hx(`2f7a0000 2c730000 00000000`),
		pkt: NewMessage("/z", String("")),
	},
	{
		name: "Eos ping payload", source: "ETC Eos OSC documentation (TCP example, after its length prefix)",
		raw: hx(`2f656f73 2f70696e 67000000 2c000000`),
		pkt: NewMessage("/eos/ping"),
	},
	{
		name: "int32 extremes", source: srcOurs,
		raw: hx(`2f690000 2c696900 7fffffff 80000000`),
		pkt: NewMessage("/i", Int32(math.MaxInt32), Int32(math.MinInt32)),
	},
	{
		name: "float NaN and negative zero", source: srcOurs,
		raw: hx(`2f660000 2c666400 7fc00000 80000000 00000000`),
		pkt: NewMessage("/f", Float32(float32(math.NaN())), Float64(math.Copysign(0, -1))),
	},
	{
		name: "empty blob", source: srcOurs,
		raw: hx(`2f620000 2c620000 00000000`),
		pkt: NewMessage("/b", Blob(nil)),
	},
	{
		name: "blob with padding", source: srcOurs,
		raw: hx(`2f620000 2c620000 00000003 010203 00`),
		pkt: NewMessage("/b", Blob([]byte{1, 2, 3})),
	},
	{
		name: "blob of 4 bytes needs no padding", source: srcOurs,
		raw: hx(`2f620000 2c620000 00000004 c0dbc0db`),
		pkt: NewMessage("/b", Blob([]byte{0xc0, 0xdb, 0xc0, 0xdb})),
	},
	{
		name: "time tag and colour", source: srcOurs,
		raw: hx(`2f740000 2c747200 ed003780 80000000 ff800001`),
		pkt: NewMessage("/t", Time(0xED003780_80000000), Color(color.RGBA{R: 0xff, G: 0x80, B: 0, A: 1})),
	},
	{
		name: "nested arrays", source: srcOurs,
		raw: hx(`2f610000 2c695b69 5b665d53 5d680000 00000001 00000002 3f800000 73000000 00000000 00000003`),
		pkt: NewMessage("/a", Int32(1), Array(Int32(2), Array(Float32(1)), Symbol("s")), Int64(3)),
	},
	{
		name: "arrays nested to the limit", source: srcOurs,
		raw: cat([]byte("/a\x00\x00,"), []byte(strings.Repeat("[", maxArrayDepth)+strings.Repeat("]", maxArrayDepth)), []byte{0, 0, 0}),
		pkt: NewMessage("/a", nestedArray(maxArrayDepth)),
	},
	{
		name: "empty array", source: srcOurs,
		raw: hx(`2f610000 2c5b5d00`),
		pkt: NewMessage("/a", Array()),
	},
	{
		name: "pattern address passes through", source: srcOurs,
		raw: hx(`2f637565 6c696768 742f7b73 6c2c7372 7d2f676f 00000000 2c540000`),
		pkt: NewMessage("/cuelight/{sl,sr}/go", Bool(true)),
	},
	{
		name: "no type-tag string means no arguments", source: "OSC 1.0: be robust to a missing type-tag string",
		raw: hx(`2f6e6f61 72677300`),
		pkt: NewMessage("/noargs"), nonCanonical: true,
	},

	// Valid bundles.
	{
		name: "bundle of two messages", source: srcRef + " §1.4",
		raw: hx(`2362756e 646c6500 00000000 00000001 0000000c 2f623100 2c690000 00000001
			0000000c 2f623200 2c730000 78000000`),
		pkt: NewBundle(Immediately, NewMessage("/b1", Int32(1)), NewMessage("/b2", String("x"))),
	},
	{
		name: "empty bundle", source: srcRef + " §1.4 (liblo accepts it)",
		raw: bHead,
		pkt: NewBundle(Immediately),
	},
	{
		name: "nested bundle keeps element order", source: srcOurs,
		raw: cat([]byte(bundleTag), hx("ed003780 00000000"), elem(msgB1),
			elem(cat([]byte(bundleTag), hx("ed003781 00000000"), elem(msgB2))), elem(noArg)),
		pkt: NewBundle(0xED003780_00000000, NewMessage("/b1", Int32(1)),
			NewBundle(0xED003781_00000000, NewMessage("/b2", String("x"))), NewMessage("/noargs")),
	},
	{
		name: "bundles nested to the default limit", source: srcOurs,
		raw: nestBundle(msgB1, DefaultMaxDepth),
		pkt: nestedPacket(NewMessage("/b1", Int32(1)), DefaultMaxDepth),
	},

	// Malformed input.
	{name: "empty packet", source: srcOurs, raw: []byte{}, err: ErrMalformed},
	{name: "length not a multiple of 4", source: srcOurs, raw: []byte("/a\x00"), err: ErrMalformed},
	{name: "address without NUL", source: srcOurs, raw: []byte("/abc"), err: ErrMalformed},
	{name: "non-zero address padding", source: "liblo error 9914", raw: []byte("/a\x00x,\x00\x00\x00"), err: ErrMalformed},
	{name: "non-zero type-tag padding", source: srcOurs, raw: []byte("/a\x00\x00,\x00\x01\x00"), err: ErrMalformed},
	{name: "bytes after the address that are not type tags", source: srcOurs, raw: []byte("/a\x00\x00i\x00\x00\x00\x00\x00\x00\x01"), err: ErrMalformed},
	{name: "unknown type tag", source: "OSC 1.0: discard unknown type tags", raw: []byte("/a\x00\x00,x\x00\x00\x00\x00\x00\x01"), err: ErrUnknownType},
	{name: "unknown tag after a valid one", source: srcOurs, raw: []byte("/a\x00\x00,iu\x00\x00\x00\x00\x01\x00\x00\x00\x02"), err: ErrUnknownType},
	{name: "truncated int32", source: srcOurs, raw: []byte("/a\x00\x00,i\x00\x00"), err: ErrMalformed},
	{name: "truncated int64", source: srcOurs, raw: []byte("/a\x00\x00,h\x00\x00\x00\x00\x00\x01"), err: ErrMalformed},
	{name: "truncated string argument", source: srcOurs, raw: []byte("/a\x00\x00,s\x00\x00abcd"), err: ErrMalformed},
	{name: "missing string argument", source: srcOurs, raw: []byte("/a\x00\x00,s\x00\x00"), err: ErrMalformed},
	{name: "non-zero string argument padding", source: srcOurs, raw: []byte("/a\x00\x00,s\x00\x00ab\x00z"), err: ErrMalformed},
	{name: "blob size overruns", source: srcOurs, raw: cat([]byte("/a\x00\x00,b\x00\x00"), u32(8), []byte("abcd")), err: ErrMalformed},
	{name: "blob negative size", source: srcOurs, raw: cat([]byte("/a\x00\x00,b\x00\x00"), u32(0xFFFFFFFF)), err: ErrMalformed},
	{name: "blob non-zero padding", source: srcOurs, raw: cat([]byte("/a\x00\x00,b\x00\x00"), u32(1), []byte("a\x00\x00z")), err: ErrMalformed},
	{name: "trailing bytes after the arguments", source: "liblo error 9911", raw: []byte("/a\x00\x00,\x00\x00\x00\x00\x00\x00\x00"), err: ErrMalformed},
	{name: "array not closed", source: srcOurs, raw: []byte("/a\x00\x00,[i\x00\x00\x00\x00\x01"), err: ErrMalformed},
	{name: "array closed but not opened", source: srcOurs, raw: []byte("/a\x00\x00,]\x00\x00"), err: ErrMalformed},
	{name: "arrays nested too deep", source: srcOurs, raw: cat([]byte("/a\x00\x00,"), []byte(strings.Repeat("[", 17)+strings.Repeat("]", 17)), []byte{0}), err: ErrTooDeep},
	{name: "neither message nor bundle", source: srcOurs, raw: []byte("abc\x00,\x00\x00\x00"), err: ErrMalformed},
	{name: "starts with '#' but not #bundle", source: "F53OSC sends '#'-prefixed non-OSC packets", raw: cat([]byte("#bundlX\x00"), hx("00000000 00000001")), err: ErrMalformed},
	{name: "bundle without time tag", source: srcOurs, raw: []byte(bundleTag), err: ErrMalformed},
	{name: "bundle element of size 0", source: srcOurs, raw: cat(bHead, u32(0)), err: ErrMalformed},
	{name: "bundle element size not a multiple of 4", source: "liblo error 9911", raw: cat(bHead, u32(6), msgB1[:8]), err: ErrMalformed},
	{name: "bundle element size overruns", source: "liblo error 9911", raw: cat(bHead, u32(16), msgB1), err: ErrMalformed},
	{name: "bundle element size negative", source: srcOurs, raw: cat(bHead, u32(0xFFFFFFFC), msgB1), err: ErrMalformed},
	{name: "bundle element is neither", source: srcOurs, raw: cat(bHead, elem([]byte("xyz\x00"))), err: ErrMalformed},
	{name: "bundle with a malformed message", source: srcOurs, raw: cat(bHead, elem(msgB1), elem([]byte("/a\x00\x00,x\x00\x00"))), err: ErrUnknownType},
	{name: "bundles nested too deep", source: srcOurs, raw: nestBundle(msgB1, DefaultMaxDepth+1), err: ErrTooDeep},
}

// validCases and malformedCases split the table.
func validCases() []wireCase {
	var out []wireCase
	for _, c := range wireCases {
		if c.err == nil {
			out = append(out, c)
		}
	}
	return out
}

func malformedCases() []wireCase {
	var out []wireCase
	for _, c := range wireCases {
		if c.err != nil {
			out = append(out, c)
		}
	}
	return out
}

// flatten lists the messages of p in delivery order (all bundles treated as
// immediate).
func flatten(p Packet) []*Message {
	switch p := p.(type) {
	case *Message:
		return []*Message{p}
	case *Bundle:
		var out []*Message
		for _, e := range p.Elements {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return nil
}
