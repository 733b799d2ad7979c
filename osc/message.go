package osc

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Packet is an OSC packet: a *[Message] or a *[Bundle].
type Packet interface {
	// AppendBinary appends the packet's wire form to dst.
	AppendBinary(dst []byte) ([]byte, error)
	// MarshalBinary returns the packet's wire form.
	MarshalBinary() ([]byte, error)
	// String returns a one-line description for logs and tests.
	String() string

	packet()
}

// Message is an OSC message: an address (pattern) and its arguments.
type Message struct {
	// Address is the OSC address pattern. It must start with '/'.
	Address string
	// Args are the arguments, in order.
	Args []Arg
}

// NewMessage returns a message with the given address and arguments.
func NewMessage(address string, args ...Arg) *Message {
	return &Message{Address: address, Args: args}
}

func (*Message) packet() {}

// TypeTags returns the message's type-tag string, such as ",is" or ",[ii]".
// A zero [Arg] shows as '?'.
func (m *Message) TypeTags() string {
	return string(appendTags(append(make([]byte, 0, len(m.Args)+2), ','), m.Args))
}

// appendTags appends the tag characters of args, without the leading ','.
func appendTags(b []byte, args []Arg) []byte {
	for _, a := range args {
		switch a.typ {
		case TypeArray:
			b = append(appendTags(append(b, '['), a.arr), ']')
		case 0:
			b = append(b, '?')
		default:
			b = append(b, byte(a.typ))
		}
	}
	return b
}

// MarshalBinary returns the message's wire form.
func (m *Message) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// AppendBinary appends the message's wire form to dst. It fails with
// [ErrInvalid] when the address does not start with '/', when a string
// contains a NUL byte, or when an argument is the zero [Arg]. On error dst is
// returned unchanged.
func (m *Message) AppendBinary(dst []byte) ([]byte, error) {
	if len(m.Address) == 0 || m.Address[0] != '/' {
		return dst, fmt.Errorf("%w: address %q does not start with '/'", ErrInvalid, m.Address)
	}
	if strings.IndexByte(m.Address, 0) >= 0 {
		return dst, fmt.Errorf("%w: NUL byte in address %q", ErrInvalid, m.Address)
	}
	b := appendString(dst, m.Address)
	// The type-tag string: ',', the tags, a NUL, padding.
	tagStart := len(b)
	b, err := appendTagBytes(append(b, ','), m.Args, 0)
	if err != nil {
		return dst, err
	}
	b = append(b, 0)
	b = pad(b, len(b)-tagStart)
	if b, err = appendArgs(b, m.Args); err != nil {
		return dst, err
	}
	return b, nil
}

// maxEncodeDepth bounds array nesting on encode, so that a cyclic or absurd
// structure cannot recurse without limit.
const maxEncodeDepth = 64

func appendTagBytes(b []byte, args []Arg, depth int) ([]byte, error) {
	if depth > maxArrayDepth {
		return b, fmt.Errorf("%w: arrays nested deeper than %d", ErrInvalid, maxArrayDepth)
	}
	for i, a := range args {
		switch a.typ {
		case TypeInt32, TypeFloat32, TypeString, TypeBlob, TypeInt64, TypeTime, TypeFloat64,
			TypeSymbol, TypeChar, TypeColor, TypeMIDI, TypeTrue, TypeFalse, TypeNil, TypeInf:
			b = append(b, byte(a.typ))
		case TypeArray:
			var err error
			b = append(b, '[')
			if b, err = appendTagBytes(b, a.arr, depth+1); err != nil {
				return b, err
			}
			b = append(b, ']')
		default:
			return b, fmt.Errorf("%w: argument %d has no type (the zero Arg)", ErrInvalid, i)
		}
	}
	return b, nil
}

func appendArgs(b []byte, args []Arg) ([]byte, error) {
	for _, a := range args {
		switch a.typ {
		case TypeInt32, TypeFloat32, TypeChar, TypeColor, TypeMIDI:
			b = binary.BigEndian.AppendUint32(b, uint32(a.num))
		case TypeInt64, TypeFloat64, TypeTime:
			b = binary.BigEndian.AppendUint64(b, a.num)
		case TypeString, TypeSymbol:
			if strings.IndexByte(a.str, 0) >= 0 {
				return b, fmt.Errorf("%w: NUL byte in string argument %q", ErrInvalid, a.str)
			}
			b = appendString(b, a.str)
		case TypeBlob:
			if uint64(len(a.blob)) > 0x7FFF_FFFF {
				return b, fmt.Errorf("%w: blob of %d bytes", ErrInvalid, len(a.blob))
			}
			b = binary.BigEndian.AppendUint32(b, uint32(len(a.blob)))
			b = pad(append(b, a.blob...), len(a.blob))
		case TypeArray:
			var err error
			if b, err = appendArgs(b, a.arr); err != nil {
				return b, err
			}
		}
	}
	return b, nil
}

// appendString appends s as an OSC-string: s, a NUL, and NULs up to a
// multiple of 4 (1 to 4 NULs in all).
func appendString(b []byte, s string) []byte {
	b = append(b, s...)
	return append(b, zeros[:4-len(s)%4]...)
}

// pad appends the zero bytes that bring an item of n bytes to a multiple of 4.
func pad(b []byte, n int) []byte { return append(b, zeros[:(4-n%4)%4]...) }

var zeros = [4]byte{}

// Clone returns a deep copy of m that shares no memory with it. Use it to
// keep a message that a [Decoder] or a [Server] handler lent you.
func (m *Message) Clone() *Message {
	if m == nil {
		return nil
	}
	return &Message{Address: strings.Clone(m.Address), Args: cloneArgs(m.Args)}
}

// Equal reports whether m and o have the same address and equal arguments
// (see [Arg.Equal]). A nil Args and an empty Args are equal.
func (m *Message) Equal(o *Message) bool {
	if m == nil || o == nil {
		return m == o
	}
	return m.Address == o.Address && argsEqual(m.Args, o.Args)
}

// String returns the message as text: the address, the type tags and the
// arguments, e.g. `/cuelight/fly/go ,s "23"`.
func (m *Message) String() string {
	b := make([]byte, 0, 64)
	b = append(b, m.Address...)
	b = appendTags(append(b, " ,"...), m.Args)
	for _, a := range m.Args {
		b = append(b, ' ')
		b = a.appendText(b)
	}
	return string(b)
}

// Bundle is an OSC bundle: a time tag and elements, each a message or a
// bundle, in order.
type Bundle struct {
	// Time is when the elements take effect; [Immediately] means now.
	Time TimeTag
	// Elements are the contents, in packet order.
	Elements []Packet
}

// NewBundle returns a bundle with the given time tag and elements.
func NewBundle(t TimeTag, elems ...Packet) *Bundle {
	return &Bundle{Time: t, Elements: elems}
}

func (*Bundle) packet() {}

const bundleTag = "#bundle\x00"

// MarshalBinary returns the bundle's wire form.
func (b *Bundle) MarshalBinary() ([]byte, error) { return b.AppendBinary(nil) }

// AppendBinary appends the bundle's wire form to dst. It fails with
// [ErrInvalid] for a nil element, an element that cannot be encoded, or
// bundles nested more than 64 deep (which also stops a bundle that contains
// itself). On error dst is returned unchanged.
func (b *Bundle) AppendBinary(dst []byte) ([]byte, error) {
	out, err := b.appendBinary(dst, 0)
	if err != nil {
		return dst, err
	}
	return out, nil
}

func (b *Bundle) appendBinary(dst []byte, depth int) ([]byte, error) {
	if depth >= maxEncodeDepth {
		return dst, fmt.Errorf("%w: bundles nested deeper than %d", ErrInvalid, maxEncodeDepth)
	}
	dst = append(dst, bundleTag...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(b.Time))
	for i, e := range b.Elements {
		at := len(dst)
		dst = append(dst, 0, 0, 0, 0)
		var err error
		switch e := e.(type) {
		case *Message:
			if e == nil {
				return dst, fmt.Errorf("%w: bundle element %d is nil", ErrInvalid, i)
			}
			dst, err = e.AppendBinary(dst)
		case *Bundle:
			if e == nil {
				return dst, fmt.Errorf("%w: bundle element %d is nil", ErrInvalid, i)
			}
			dst, err = e.appendBinary(dst, depth+1)
		default:
			return dst, fmt.Errorf("%w: bundle element %d is %T", ErrInvalid, i, e)
		}
		if err != nil {
			return dst, err
		}
		size := len(dst) - at - 4
		if size > 0x7FFF_FFFF {
			return dst, fmt.Errorf("%w: bundle element %d of %d bytes", ErrInvalid, i, size)
		}
		binary.BigEndian.PutUint32(dst[at:], uint32(size))
	}
	return dst, nil
}

// Clone returns a deep copy of b that shares no memory with it.
func (b *Bundle) Clone() *Bundle {
	if b == nil {
		return nil
	}
	out := &Bundle{Time: b.Time}
	if b.Elements != nil {
		out.Elements = make([]Packet, len(b.Elements))
		for i, e := range b.Elements {
			out.Elements[i] = clonePacket(e)
		}
	}
	return out
}

// ClonePacket returns a deep copy of p (a *Message or a *Bundle) that shares
// no memory with it.
func ClonePacket(p Packet) Packet { return clonePacket(p) }

func clonePacket(p Packet) Packet {
	switch p := p.(type) {
	case *Message:
		return p.Clone()
	case *Bundle:
		return p.Clone()
	}
	return p
}

// Equal reports whether b and o have the same time tag and equal elements in
// the same order.
func (b *Bundle) Equal(o *Bundle) bool {
	if b == nil || o == nil {
		return b == o
	}
	if b.Time != o.Time || len(b.Elements) != len(o.Elements) {
		return false
	}
	for i := range b.Elements {
		if !PacketEqual(b.Elements[i], o.Elements[i]) {
			return false
		}
	}
	return true
}

// PacketEqual reports whether two packets are equal messages or equal
// bundles.
func PacketEqual(a, b Packet) bool {
	switch a := a.(type) {
	case *Message:
		b, ok := b.(*Message)
		return ok && a.Equal(b)
	case *Bundle:
		b, ok := b.(*Bundle)
		return ok && a.Equal(b)
	}
	return a == nil && b == nil
}

// String returns the bundle as text: "#bundle <time> [elem; elem]".
func (b *Bundle) String() string {
	var sb strings.Builder
	sb.WriteString("#bundle ")
	sb.WriteString(b.Time.String())
	sb.WriteString(" [")
	for i, e := range b.Elements {
		if i > 0 {
			sb.WriteString("; ")
		}
		if e == nil {
			sb.WriteString("<nil>")
			continue
		}
		sb.WriteString(e.String())
	}
	sb.WriteString("]")
	return sb.String()
}
