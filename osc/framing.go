package osc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Framing is how OSC packets are delimited on a TCP stream.
type Framing uint8

// The stream framings. The server detects which one a connection uses from
// its first byte: 0xC0 (a SLIP END) means SLIP, anything else a length
// prefix. No valid length prefix starts with 0xC0, since that would announce
// a packet of more than 3 GB.
const (
	// LengthPrefix is OSC 1.0 framing: each packet is preceded by its size
	// as a big-endian int32. liblo, Eos (port 3032) and TouchOSC "OSC 1.0"
	// use it.
	LengthPrefix Framing = 1
	// SLIP is OSC 1.1 framing: each packet is SLIP-encoded (RFC 1055) between
	// two END bytes (0xC0). QLab, Companion, Eos "OSC 1.1" and TouchOSC
	// "OSC 1.1" use it.
	SLIP Framing = 2
)

// String returns "length-prefix", "slip" or "none".
func (f Framing) String() string {
	switch f {
	case LengthPrefix:
		return "length-prefix"
	case SLIP:
		return "slip"
	}
	return "none"
}

// SLIP special bytes (RFC 1055).
const (
	slipEnd    = 0xC0
	slipEsc    = 0xDB
	slipEscEnd = 0xDC
	slipEscEsc = 0xDD
)

// appendFramed appends p's wire form to dst in framing f.
func appendFramed(dst []byte, f Framing, p Packet) ([]byte, error) {
	switch f {
	case LengthPrefix:
		at := len(dst)
		out, err := p.AppendBinary(append(dst, 0, 0, 0, 0))
		if err != nil {
			return dst, err
		}
		binary.BigEndian.PutUint32(out[at:], uint32(len(out)-at-4))
		return out, nil
	case SLIP:
		raw, err := p.MarshalBinary()
		if err != nil {
			return dst, err
		}
		return appendSLIP(dst, raw), nil
	}
	return dst, fmt.Errorf("%w: unknown framing %d", ErrInvalid, f)
}

// appendSLIP appends payload as a double-END SLIP frame.
func appendSLIP(dst, payload []byte) []byte {
	dst = append(dst, slipEnd)
	for _, c := range payload {
		switch c {
		case slipEnd:
			dst = append(dst, slipEsc, slipEscEnd)
		case slipEsc:
			dst = append(dst, slipEsc, slipEscEsc)
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, slipEnd)
}

// frameError is a framing problem confined to one frame: the frame is
// dropped and reading can go on. Other errors from frameReader.next end the
// stream.
type frameError struct{ err error }

func (e *frameError) Error() string { return e.err.Error() }
func (e *frameError) Unwrap() error { return e.err }

func isFrameError(err error) bool {
	var fe *frameError
	return errors.As(err, &fe)
}

// frameReader splits a byte stream into packets. It is resumable: when the
// underlying reader returns an error (a deadline, say) in the middle of a
// frame, the bytes read so far are kept and the next call carries on.
type frameReader struct {
	r       io.Reader
	framing Framing // 0 until detected
	max     int     // largest payload accepted
	buf     []byte
	start   int // buf[start:end] holds unparsed bytes
	end     int
	skip    bool // SLIP: discarding an oversized frame up to the next END
}

func newFrameReader(r io.Reader, f Framing, max int) *frameReader {
	return &frameReader{r: r, framing: f, max: max, buf: make([]byte, 512)}
}

// next returns the payload of the next frame in a newly allocated slice. An
// error of type *frameError means that one frame was dropped (too large,
// empty, bad SLIP escape) and next may be called again; any other error
// (ErrTooLarge for a length prefix over the limit, which loses the stream's
// synchronisation, or the reader's own error) ends the stream.
func (fr *frameReader) next() ([]byte, error) {
	for {
		payload, need, err := fr.parse()
		if payload != nil || err != nil {
			return payload, err
		}
		if err := fr.fill(need); err != nil {
			return nil, err
		}
	}
}

// parse extracts a frame from the buffer if a whole one is there. Otherwise
// it returns need, the number of buffered bytes it must see before trying
// again.
func (fr *frameReader) parse() (payload []byte, need int, err error) {
	data := fr.buf[fr.start:fr.end]
	if fr.framing == 0 {
		if len(data) == 0 {
			return nil, 1, nil
		}
		fr.framing = LengthPrefix
		if data[0] == slipEnd {
			fr.framing = SLIP
		}
	}
	if fr.framing == LengthPrefix {
		if len(data) < 4 {
			return nil, 4, nil
		}
		size := binary.BigEndian.Uint32(data)
		if uint64(size) > uint64(fr.max) {
			return nil, 0, fmt.Errorf("%w: stream frame of %d bytes (limit %d)", ErrTooLarge, size, fr.max)
		}
		if size == 0 {
			fr.start += 4
			return nil, 0, &frameError{fmt.Errorf("%w: empty stream frame", ErrMalformed)}
		}
		total := 4 + int(size)
		if len(data) < total {
			return nil, total, nil
		}
		payload = append(make([]byte, 0, size), data[4:total]...)
		fr.start += total
		return payload, 0, nil
	}
	// SLIP.
	if fr.skip {
		i := bytes.IndexByte(data, slipEnd)
		if i < 0 {
			fr.start = fr.end
			return nil, 1, nil
		}
		fr.start += i + 1
		fr.skip = false
		return nil, 0, &frameError{fmt.Errorf("%w: SLIP frame over %d bytes", ErrTooLarge, fr.max)}
	}
	for len(data) > 0 && data[0] == slipEnd { // empty frames between ENDs
		data = data[1:]
		fr.start++
	}
	i := bytes.IndexByte(data, slipEnd)
	if i < 0 {
		if len(data) > 2*fr.max+1 {
			// Even if every byte were escaped, this frame is over the limit.
			fr.skip = true
			fr.start = fr.end
		}
		return nil, len(data) + 1, nil
	}
	raw := data[:i]
	fr.start += i + 1
	if len(raw) > 2*fr.max+1 {
		// The same verdict as when the frame outgrows the buffer before its
		// END arrives, so that it does not depend on how the bytes came.
		return nil, 0, &frameError{fmt.Errorf("%w: SLIP frame over %d bytes", ErrTooLarge, fr.max)}
	}
	payload = make([]byte, 0, len(raw))
	for k := 0; k < len(raw); k++ {
		c := raw[k]
		if c == slipEsc {
			k++
			switch {
			case k < len(raw) && raw[k] == slipEscEnd:
				c = slipEnd
			case k < len(raw) && raw[k] == slipEscEsc:
				c = slipEsc
			default:
				return nil, 0, &frameError{fmt.Errorf("%w: bad SLIP escape", ErrMalformed)}
			}
		}
		payload = append(payload, c)
	}
	if len(payload) > fr.max {
		return nil, 0, &frameError{fmt.Errorf("%w: SLIP frame of %d bytes (limit %d)", ErrTooLarge, len(payload), fr.max)}
	}
	return payload, 0, nil
}

// fill reads more bytes, making room for at least need unparsed bytes.
func (fr *frameReader) fill(need int) error {
	if fr.start == fr.end {
		fr.start, fr.end = 0, 0
	}
	if fr.end == len(fr.buf) || need > len(fr.buf)-fr.start {
		// Move the unparsed bytes to the front, then grow if still short.
		n := copy(fr.buf, fr.buf[fr.start:fr.end])
		fr.start, fr.end = 0, n
		if want := max(need, n+1); want > len(fr.buf) {
			// Double, but never past what the largest frame can need:
			// 4+max for a length prefix, 2·max+2 for SLIP.
			nb := make([]byte, max(want, min(2*len(fr.buf), 2*fr.max+2)))
			copy(nb, fr.buf[:n])
			fr.buf = nb
		}
	}
	n, err := fr.r.Read(fr.buf[fr.end:])
	fr.end += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}
