package mqttlink

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends s as JSON, byte for byte what encoding/json writes
// for it (the fuzz test FuzzStateJSON holds the two together). The link
// encodes every state and event this way: encoding/json's reflection, run
// cold after the station has been idle between two cues, took about 16 µs
// on the way from the datagram to the broker (docs/performance.md).
func (s State) AppendJSON(b []byte) []byte {
	b = append(b, `{"channel":`...)
	b = appendJSONString(b, s.Channel)
	b = append(b, `,"station":`...)
	b = appendJSONString(b, s.Station)
	b = append(b, `,"state":`...)
	b = appendJSONString(b, s.State)
	b = append(b, `,"label":`...)
	b = appendJSONString(b, s.Label)
	b = append(b, `,"ack_requested":`...)
	b = strconv.AppendBool(b, s.AckRequested)
	b = append(b, `,"since":`...)
	b = appendJSONString(b, s.Since)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, s.Seq, 10)
	b = append(b, `,"epoch":`...)
	b = appendJSONString(b, s.Epoch)
	return append(b, '}')
}

// AppendJSON appends e as docs/protocol.md §4 describes it: the fields of
// eventWire in its order, ack_ms on ack events only, the optional ones
// only when set, and the id twice (as "id" and "cmd"). It is byte for byte
// what encoding/json writes for the eventWire (FuzzEventJSON).
func (e Event) AppendJSON(b []byte) []byte {
	b = append(b, `{"event":`...)
	b = appendJSONString(b, e.Event)
	b = append(b, `,"channel":`...)
	b = appendJSONString(b, e.Channel)
	b = append(b, `,"station":`...)
	b = appendJSONString(b, e.Station)
	b = append(b, `,"label":`...)
	b = appendJSONString(b, e.Label)
	b = append(b, `,"at":`...)
	b = appendJSONString(b, e.At)
	b = append(b, `,"source":`...)
	b = appendJSONString(b, e.Source)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"epoch":`...)
	b = appendJSONString(b, e.Epoch)
	if e.Event == "ack" {
		b = append(b, `,"ack_ms":`...)
		b = strconv.AppendInt(b, e.AckMS, 10)
	}
	if e.Unwarned {
		b = append(b, `,"unwarned":true`...)
	}
	if e.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, e.Reason)
	}
	if e.ID != "" {
		b = append(b, `,"id":`...)
		b = appendJSONString(b, e.ID)
		b = append(b, `,"cmd":`...)
		b = appendJSONString(b, e.ID)
	}
	if e.Unacknowledged {
		b = append(b, `,"unacknowledged":true`...)
	}
	if e.ElapsedMS != 0 {
		b = append(b, `,"elapsed_ms":`...)
		b = strconv.AppendInt(b, e.ElapsedMS, 10)
	}
	return append(b, '}')
}

// appendJSONString appends src as a JSON string the way encoding/json
// does: HTML characters, U+2028 and U+2029 escaped, invalid UTF-8 as
// U+FFFD.
func appendJSONString(dst []byte, src string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(src); {
		if c := src[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, src[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(src[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, src[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, src[start:]...)
	return append(dst, '"')
}
