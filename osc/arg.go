package osc

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"
)

// Type is an OSC type tag.
type Type byte

// The type tags this package encodes and decodes.
const (
	TypeInt32   Type = 'i' // int32
	TypeFloat32 Type = 'f' // float32
	TypeString  Type = 's' // OSC-string
	TypeBlob    Type = 'b' // OSC-blob
	TypeInt64   Type = 'h' // int64
	TypeTime    Type = 't' // OSC time tag
	TypeFloat64 Type = 'd' // float64
	TypeSymbol  Type = 'S' // alternate string ("symbol")
	TypeChar    Type = 'c' // character sent as 32 bits
	TypeColor   Type = 'r' // 32-bit RGBA colour
	TypeMIDI    Type = 'm' // 4-byte MIDI message: port, status, data1, data2
	TypeTrue    Type = 'T' // true, no payload
	TypeFalse   Type = 'F' // false, no payload
	TypeNil     Type = 'N' // nil, no payload
	TypeInf     Type = 'I' // infinitum ("impulse" in OSC 1.1), no payload
	TypeArray   Type = '[' // array: the elements' tags follow, then ']'
)

// String returns the tag as a one-character string ("i", "[").
func (t Type) String() string { return string(rune(t)) }

// Arg is one argument of a message. The zero Arg is invalid; make one with
// the constructors ([Int32], [String], [Bool], ...) or get one from the
// decoder. An Arg is a small value: copy it freely. A blob or array Arg
// shares its backing slice with its copies.
type Arg struct {
	typ  Type
	num  uint64 // i h c r m t: the bits; f d: IEEE bits; T F: 1/0
	str  string // s S
	blob []byte // b
	arr  []Arg  // [
}

// Int32 returns an int32 ('i') argument.
func Int32(v int32) Arg { return Arg{typ: TypeInt32, num: uint64(uint32(v))} }

// Int64 returns an int64 ('h') argument.
func Int64(v int64) Arg { return Arg{typ: TypeInt64, num: uint64(v)} }

// Float32 returns a float32 ('f') argument.
func Float32(v float32) Arg { return Arg{typ: TypeFloat32, num: uint64(math.Float32bits(v))} }

// Float64 returns a float64 ('d') argument.
func Float64(v float64) Arg { return Arg{typ: TypeFloat64, num: math.Float64bits(v)} }

// String returns an OSC-string ('s') argument. A string must not contain a
// NUL byte; encoding such an argument fails with [ErrInvalid].
func String(s string) Arg { return Arg{typ: TypeString, str: s} }

// Symbol returns an alternate-string ('S') argument.
func Symbol(s string) Arg { return Arg{typ: TypeSymbol, str: s} }

// Blob returns a blob ('b') argument. The Arg keeps b; do not modify it
// afterwards. A nil or empty b is an empty blob, which is legal.
func Blob(b []byte) Arg { return Arg{typ: TypeBlob, blob: b} }

// Time returns a time tag ('t') argument.
func Time(t TimeTag) Arg { return Arg{typ: TypeTime, num: uint64(t)} }

// Char returns a character ('c') argument, sent as 32 bits.
func Char(c rune) Arg { return Arg{typ: TypeChar, num: uint64(uint32(c))} }

// Color returns an RGBA colour ('r') argument.
func Color(c color.RGBA) Arg {
	return Arg{typ: TypeColor, num: uint64(c.R)<<24 | uint64(c.G)<<16 | uint64(c.B)<<8 | uint64(c.A)}
}

// MIDI returns a MIDI ('m') argument: port id, status byte, data1, data2.
func MIDI(port, status, data1, data2 byte) Arg {
	return Arg{typ: TypeMIDI, num: uint64(port)<<24 | uint64(status)<<16 | uint64(data1)<<8 | uint64(data2)}
}

// Bool returns a true ('T') or false ('F') argument.
func Bool(v bool) Arg {
	if v {
		return Arg{typ: TypeTrue, num: 1}
	}
	return Arg{typ: TypeFalse}
}

// Nil returns a nil ('N') argument.
func Nil() Arg { return Arg{typ: TypeNil} }

// Inf returns an infinitum ('I') argument (OSC 1.1 calls it an impulse).
func Inf() Arg { return Arg{typ: TypeInf} }

// Array returns an array argument holding elems ('[' ... ']'). Arrays nest.
// The Arg keeps the elems slice.
func Array(elems ...Arg) Arg { return Arg{typ: TypeArray, arr: elems} }

// Type returns the argument's type tag, or 0 for the zero Arg.
func (a Arg) Type() Type { return a.typ }

// Int32 returns the value of an 'i' argument; ok is false for any other type.
func (a Arg) Int32() (v int32, ok bool) { return int32(uint32(a.num)), a.typ == TypeInt32 }

// Int64 returns the value of an 'h' argument; ok is false for any other type.
func (a Arg) Int64() (v int64, ok bool) { return int64(a.num), a.typ == TypeInt64 }

// Float32 returns the value of an 'f' argument; ok is false for any other
// type.
func (a Arg) Float32() (v float32, ok bool) {
	if a.typ != TypeFloat32 {
		return 0, false
	}
	return math.Float32frombits(uint32(a.num)), true
}

// Float64 returns the value of a 'd' argument; ok is false for any other
// type.
func (a Arg) Float64() (v float64, ok bool) {
	if a.typ != TypeFloat64 {
		return 0, false
	}
	return math.Float64frombits(a.num), true
}

// String returns the text of an 's' or 'S' argument; ok is false for any
// other type. A number is never turned into a string: a cue label sent as
// ,i 23 is not a string.
func (a Arg) String() (s string, ok bool) {
	return a.str, a.typ == TypeString || a.typ == TypeSymbol
}

// Blob returns the bytes of a 'b' argument; ok is false for any other type.
// The slice is shared, not copied.
func (a Arg) Blob() (b []byte, ok bool) { return a.blob, a.typ == TypeBlob }

// Time returns the value of a 't' argument; ok is false for any other type.
func (a Arg) Time() (t TimeTag, ok bool) { return TimeTag(a.num), a.typ == TypeTime }

// Char returns the value of a 'c' argument; ok is false for any other type.
func (a Arg) Char() (c rune, ok bool) { return rune(int32(uint32(a.num))), a.typ == TypeChar }

// Color returns the value of an 'r' argument; ok is false for any other type.
func (a Arg) Color() (c color.RGBA, ok bool) {
	if a.typ != TypeColor {
		return color.RGBA{}, false
	}
	return color.RGBA{R: byte(a.num >> 24), G: byte(a.num >> 16), B: byte(a.num >> 8), A: byte(a.num)}, true
}

// MIDI returns the four bytes of an 'm' argument (port id, status, data1,
// data2); ok is false for any other type.
func (a Arg) MIDI() (m [4]byte, ok bool) {
	if a.typ != TypeMIDI {
		return m, false
	}
	return [4]byte{byte(a.num >> 24), byte(a.num >> 16), byte(a.num >> 8), byte(a.num)}, true
}

// Bool returns the value of a 'T' or 'F' argument; ok is false for any other
// type (use [Arg.Truth] to read numbers as booleans too).
func (a Arg) Bool() (v, ok bool) {
	return a.typ == TypeTrue, a.typ == TypeTrue || a.typ == TypeFalse
}

// Array returns the elements of an array argument; ok is false for any other
// type. The slice is shared, not copied.
func (a Arg) Array() (elems []Arg, ok bool) { return a.arr, a.typ == TypeArray }

// Number returns the value of a numeric argument (i h f d) as a float64; ok
// is false for any other type. An int64 beyond ±2^53 loses precision.
func (a Arg) Number() (v float64, ok bool) {
	switch a.typ {
	case TypeInt32:
		return float64(int32(uint32(a.num))), true
	case TypeInt64:
		return float64(int64(a.num)), true
	case TypeFloat32:
		return float64(math.Float32frombits(uint32(a.num))), true
	case TypeFloat64:
		return math.Float64frombits(a.num), true
	}
	return 0, false
}

// Truth reads a numeric or boolean argument (i h f d T F) as a button value:
// v is true for a non-zero number (NaN included) or 'T', false for zero
// (either sign) or 'F'. ok is false for every other type, strings included:
// a label is never a button value.
func (a Arg) Truth() (v, ok bool) {
	switch a.typ {
	case TypeTrue:
		return true, true
	case TypeFalse:
		return false, true
	case TypeInt32, TypeInt64:
		return a.num != 0, true
	case TypeFloat32, TypeFloat64:
		f, _ := a.Number()
		return f != 0, true
	}
	return false, false
}

// Equal reports whether a and b have the same type and value. Floats are
// compared by their bits, so a NaN equals the same NaN and 0 differs from -0.
func (a Arg) Equal(b Arg) bool {
	if a.typ != b.typ || a.num != b.num || a.str != b.str {
		return false
	}
	switch a.typ {
	case TypeBlob:
		return bytes.Equal(a.blob, b.blob)
	case TypeArray:
		return argsEqual(a.arr, b.arr)
	}
	return true
}

func argsEqual(a, b []Arg) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

// clone returns a deep copy: strings, blobs and arrays no longer share memory
// with a.
func (a Arg) clone() Arg {
	switch a.typ {
	case TypeString, TypeSymbol:
		a.str = strings.Clone(a.str)
	case TypeBlob:
		if a.blob != nil {
			a.blob = append(make([]byte, 0, len(a.blob)), a.blob...)
		}
	case TypeArray:
		a.arr = cloneArgs(a.arr)
	}
	return a
}

func cloneArgs(args []Arg) []Arg {
	if args == nil {
		return nil
	}
	out := make([]Arg, len(args))
	for i, a := range args {
		out[i] = a.clone()
	}
	return out
}

// Format implements fmt.Formatter. Every verb prints the argument as text in
// a form close to liblo's oscdump: 42, 0.5, "text", 'symbol, 'x', #T, #F,
// Nil, Infinitum, blob [3b 01 02 03], MIDI [90 ff 01 02], RGBA [..],
// time tags as seconds.fraction in hex, arrays as [ ... ].
func (a Arg) Format(f fmt.State, _ rune) {
	var buf [64]byte
	_, _ = f.Write(a.appendText(buf[:0]))
}

func (a Arg) appendText(b []byte) []byte {
	switch a.typ {
	case TypeInt32:
		return strconv.AppendInt(b, int64(int32(uint32(a.num))), 10)
	case TypeInt64:
		return strconv.AppendInt(b, int64(a.num), 10)
	case TypeFloat32:
		return strconv.AppendFloat(b, float64(math.Float32frombits(uint32(a.num))), 'g', -1, 32)
	case TypeFloat64:
		return strconv.AppendFloat(b, math.Float64frombits(a.num), 'g', -1, 64)
	case TypeString:
		return strconv.AppendQuote(b, a.str)
	case TypeSymbol:
		return append(append(b, '\''), a.str...)
	case TypeBlob:
		b = append(b, "blob ["...)
		b = strconv.AppendInt(b, int64(len(a.blob)), 10)
		b = append(b, 'b')
		for _, c := range a.blob {
			b = append(b, ' ', hexDigit[c>>4], hexDigit[c&15])
		}
		return append(b, ']')
	case TypeTime:
		return TimeTag(a.num).appendHex(b)
	case TypeChar:
		return strconv.AppendQuoteRune(b, rune(int32(uint32(a.num))))
	case TypeColor, TypeMIDI:
		if a.typ == TypeColor {
			b = append(b, "RGBA ["...)
		} else {
			b = append(b, "MIDI ["...)
		}
		for i := 24; i >= 0; i -= 8 {
			c := byte(a.num >> i)
			b = append(b, hexDigit[c>>4], hexDigit[c&15])
			if i > 0 {
				b = append(b, ' ')
			}
		}
		return append(b, ']')
	case TypeTrue:
		return append(b, "#T"...)
	case TypeFalse:
		return append(b, "#F"...)
	case TypeNil:
		return append(b, "Nil"...)
	case TypeInf:
		return append(b, "Infinitum"...)
	case TypeArray:
		b = append(b, '[')
		for i, e := range a.arr {
			if i > 0 {
				b = append(b, ' ')
			}
			b = e.appendText(b)
		}
		return append(b, ']')
	}
	return append(b, "<invalid>"...)
}

const hexDigit = "0123456789abcdef"
