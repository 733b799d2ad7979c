package osc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unsafe"
)

// DefaultMaxDepth is the default limit on bundle nesting: a bundle inside a
// bundle inside ... at most this many levels, the outermost counting as 1.
const DefaultMaxDepth = 8

// maxArrayDepth limits how deeply arrays ('[' ... ']') may nest inside one
// message, on decode and on encode.
const maxArrayDepth = 16

// Decode decodes one packet (a *[Message] or a *[Bundle]) from b. It is
// strict: see the package documentation for what it rejects. The result owns
// its memory: Decode copies b once, so b may be reused at once. Bundles may
// nest [DefaultMaxDepth] deep.
//
// Decode allocates; for a hot path use a [Decoder].
func Decode(b []byte) (Packet, error) {
	var d Decoder
	return d.Decode(append(make([]byte, 0, len(b)), b...))
}

// UnmarshalBinary decodes a single message from b into m, replacing its
// contents. It fails if b holds a bundle. m does not alias b.
func (m *Message) UnmarshalBinary(b []byte) error {
	p, err := Decode(b)
	if err != nil {
		return err
	}
	msg, ok := p.(*Message)
	if !ok {
		return fmt.Errorf("%w: a bundle, not a message", ErrMalformed)
	}
	*m = *msg
	return nil
}

// A Decoder decodes packets without allocating once it has warmed up. It is
// the low-allocation path behind [Server]; [Decode] is the simple one.
//
// Ownership rule: the packet returned by Decode, and every *Message, *Bundle,
// Args slice and Elements slice inside it, belongs to the Decoder and is
// overwritten by the next call to Decode. The strings (addresses and string
// arguments) and blobs are not copied: they alias b, and stay valid exactly as
// long as b is neither modified nor reused. To keep anything past the next
// Decode call, or past the reuse of b, take a copy with [Message.Clone],
// [Bundle.Clone] or [ClonePacket] (or strings.Clone for a single string).
//
// A Decoder is not safe for concurrent use. The zero value is ready to use.
type Decoder struct {
	// MaxDepth limits bundle nesting; 0 means DefaultMaxDepth.
	MaxDepth int

	msgs    arena[Message]
	bundles arena[Bundle]
	elems   arena[Packet]
	args    arena[Arg]
}

// Decode decodes one packet from b under the ownership rule above. On error
// the returned packet is nil.
func (d *Decoder) Decode(b []byte) (Packet, error) {
	d.msgs.reset()
	d.bundles.reset()
	d.elems.reset()
	d.args.reset()
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty packet", ErrMalformed)
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%w: length %d is not a multiple of 4", ErrMalformed, len(b))
	}
	return d.packet(b, 1)
}

func (d *Decoder) packet(b []byte, depth int) (Packet, error) {
	switch b[0] {
	case '/':
		m := &d.msgs.take(1)[0]
		if err := d.message(m, b); err != nil {
			return nil, err
		}
		return m, nil
	case '#':
		bu, err := d.bundle(b, depth)
		if err != nil {
			return nil, err
		}
		return bu, nil
	}
	return nil, fmt.Errorf("%w: packet starts with %q, neither '/' nor '#bundle'", ErrMalformed, b[0])
}

func (d *Decoder) bundle(b []byte, depth int) (*Bundle, error) {
	max := d.MaxDepth
	if max <= 0 {
		max = DefaultMaxDepth
	}
	if depth > max {
		return nil, fmt.Errorf("%w: bundles nested more than %d deep", ErrTooDeep, max)
	}
	if len(b) < 16 || string(b[:8]) != bundleTag {
		return nil, fmt.Errorf("%w: starts with '#' but is not a bundle", ErrMalformed)
	}
	// First pass: check the element sizes and count the elements.
	n := 0
	for off := 16; off < len(b); n++ {
		if len(b)-off < 4 {
			return nil, fmt.Errorf("%w: %d stray bytes at the end of a bundle", ErrMalformed, len(b)-off)
		}
		size := binary.BigEndian.Uint32(b[off:])
		off += 4
		if size == 0 || size%4 != 0 || uint64(size) > uint64(len(b)-off) {
			return nil, fmt.Errorf("%w: bundle element size %d at offset %d (%d bytes left)", ErrMalformed, int32(size), off-4, len(b)-off)
		}
		off += int(size)
	}
	bu := &d.bundles.take(1)[0]
	bu.Time = TimeTag(binary.BigEndian.Uint64(b[8:]))
	bu.Elements = d.elems.take(n)
	off := 16
	for i := range bu.Elements {
		size := int(binary.BigEndian.Uint32(b[off:]))
		off += 4
		p, err := d.packet(b[off:off+size:off+size], depth+1)
		if err != nil {
			return nil, err
		}
		bu.Elements[i] = p
		off += size
	}
	return bu, nil
}

func (d *Decoder) message(m *Message, b []byte) error {
	addrEnd, off, err := readString(b, 0)
	if err != nil {
		return err
	}
	m.Address = aliasString(b[:addrEnd])
	m.Args = nil
	if off == len(b) {
		// No type-tag string at all: OSC 1.0 asks receivers to be robust here;
		// nothing follows, so there are no arguments.
		return nil
	}
	if b[off] != ',' {
		return fmt.Errorf("%w: no type-tag string after the address (found %q)", ErrMalformed, b[off])
	}
	tagStart := off
	tagsEnd, off, err := readString(b, off)
	if err != nil {
		return err
	}
	tags := b[tagStart+1 : tagsEnd]
	top, total, err := checkTags(tags)
	if err != nil {
		return err
	}
	if total == 0 {
		m.Args = nil
	} else {
		pool := d.args.take(total)
		args := pool[:top:top]
		pool = pool[top:]
		if _, off, err = decodeArgs(b, off, tags, 0, args, &pool); err != nil {
			return err
		}
		m.Args = args
	}
	if off != len(b) {
		return fmt.Errorf("%w: %d bytes after the last argument", ErrMalformed, len(b)-off)
	}
	return nil
}

// checkTags validates a type-tag string (without its ','): known tags,
// balanced arrays within the depth limit. It returns the number of top-level
// arguments and the total number of Args needed (arrays count as one each,
// plus their elements).
func checkTags(tags []byte) (top, total int, err error) {
	depth := 0
	for _, c := range tags {
		switch Type(c) {
		case TypeInt32, TypeFloat32, TypeString, TypeBlob, TypeInt64, TypeTime, TypeFloat64,
			TypeSymbol, TypeChar, TypeColor, TypeMIDI, TypeTrue, TypeFalse, TypeNil, TypeInf:
		case TypeArray:
			depth++
			if depth > maxArrayDepth {
				return 0, 0, fmt.Errorf("%w: arrays nested more than %d deep", ErrTooDeep, maxArrayDepth)
			}
			if depth == 1 {
				top++
			}
			total++
			continue
		case ']':
			depth--
			if depth < 0 {
				return 0, 0, fmt.Errorf("%w: ']' without '['", ErrMalformed)
			}
			continue
		default:
			return 0, 0, fmt.Errorf("%w %q", ErrUnknownType, c)
		}
		if depth == 0 {
			top++
		}
		total++
	}
	if depth != 0 {
		return 0, 0, fmt.Errorf("%w: '[' without ']'", ErrMalformed)
	}
	return top, total, nil
}

// countLevel counts the arguments of the array whose tags start at tags[0],
// up to its closing ']' (tags are already balanced).
func countLevel(tags []byte) int {
	n, depth := 0, 0
	for _, c := range tags {
		switch c {
		case '[':
			if depth == 0 {
				n++
			}
			depth++
		case ']':
			if depth == 0 {
				return n
			}
			depth--
		default:
			if depth == 0 {
				n++
			}
		}
	}
	return n
}

// decodeArgs fills out with the arguments whose tags start at tags[ti], and
// returns the index of the first tag not consumed and the new offset. Arrays
// take their element slices from pool, which was sized by checkTags.
func decodeArgs(b []byte, off int, tags []byte, ti int, out []Arg, pool *[]Arg) (int, int, error) {
	for k := range out {
		t := Type(tags[ti])
		ti++
		a := Arg{typ: t}
		switch t {
		case TypeInt32, TypeFloat32, TypeChar, TypeColor, TypeMIDI:
			if len(b)-off < 4 {
				return ti, off, truncated(t, off)
			}
			a.num = uint64(binary.BigEndian.Uint32(b[off:]))
			off += 4
		case TypeInt64, TypeFloat64, TypeTime:
			if len(b)-off < 8 {
				return ti, off, truncated(t, off)
			}
			a.num = binary.BigEndian.Uint64(b[off:])
			off += 8
		case TypeString, TypeSymbol:
			end, next, err := readString(b, off)
			if err != nil {
				return ti, off, err
			}
			a.str = aliasString(b[off:end])
			off = next
		case TypeBlob:
			if len(b)-off < 4 {
				return ti, off, truncated(t, off)
			}
			n := binary.BigEndian.Uint32(b[off:])
			off += 4
			padded := (uint64(n) + 3) &^ 3
			if n > 0x7FFF_FFFF || padded > uint64(len(b)-off) {
				return ti, off, fmt.Errorf("%w: blob of %d bytes at offset %d overruns the message", ErrMalformed, int32(n), off-4)
			}
			end := off + int(n)
			if !allZero(b[end : off+int(padded)]) {
				return ti, off, fmt.Errorf("%w: non-zero blob padding at offset %d", ErrMalformed, end)
			}
			a.blob = b[off:end:end]
			off += int(padded)
		case TypeTrue:
			a.num = 1
		case TypeFalse, TypeNil, TypeInf:
		case TypeArray:
			n := countLevel(tags[ti:])
			elems := (*pool)[:n:n]
			*pool = (*pool)[n:]
			var err error
			if ti, off, err = decodeArgs(b, off, tags, ti, elems, pool); err != nil {
				return ti, off, err
			}
			ti++ // the closing ']'
			a.arr = elems
		}
		out[k] = a
	}
	return ti, off, nil
}

func truncated(t Type, off int) error {
	return fmt.Errorf("%w: '%c' argument at offset %d is truncated", ErrMalformed, t, off)
}

// readString reads the OSC-string starting at b[off] (a multiple of 4 from
// the start of the packet). It returns the index of its terminating NUL and
// the offset just past its padding.
//
// It tests a 4-byte word at a time for a zero byte: the first word that has
// one holds the terminator, and the rest of that word is the padding. For
// the short strings OSC carries this beats a byte search.
func readString(b []byte, off int) (end, next int, err error) {
	for w := off; w+4 <= len(b); w += 4 {
		if x := binary.LittleEndian.Uint32(b[w:]); (x-0x01010101)&^x&0x80808080 == 0 {
			continue // no zero byte in this word
		}
		end = w
		for b[end] != 0 {
			end++
		}
		next = w + 4
		if !allZero(b[end+1 : next]) {
			return 0, 0, fmt.Errorf("%w: non-zero string padding at offset %d", ErrMalformed, end+1)
		}
		return end, next, nil
	}
	if bytes.IndexByte(b[off:], 0) >= 0 {
		return 0, 0, fmt.Errorf("%w: string at offset %d lacks its padding", ErrMalformed, off)
	}
	return 0, 0, fmt.Errorf("%w: string at offset %d has no terminating NUL", ErrMalformed, off)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// aliasString returns b as a string without copying. The caller guarantees
// that b is not modified while the string is in use (see Decoder).
func aliasString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// arena hands out slices of T from a reusable chunk. A slice handed out stays
// valid until reset; when the chunk is full a bigger one is started, and the
// old one stays alive as long as something points into it.
type arena[T any] struct{ s []T }

func (a *arena[T]) reset() { a.s = a.s[:0] }

func (a *arena[T]) take(n int) []T {
	if len(a.s)+n > cap(a.s) {
		a.s = make([]T, 0, max(2*cap(a.s), n, 4))
	}
	l := len(a.s)
	a.s = a.s[:l+n]
	// Not cleared: the decoder writes every field of every element it takes.
	return a.s[l : l+n : l+n]
}
