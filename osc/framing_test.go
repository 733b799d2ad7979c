package osc

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// chunkReader hands out at most n bytes per Read, to exercise resumption.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.b))
	copy(p, r.b[:k])
	r.b = r.b[k:]
	return k, nil
}

// readAll splits a stream into frames; a dropped frame shows as "!too large"
// or "!malformed".
func readAll(stream []byte, f Framing, max, chunk int) (frames []string, fatal error) {
	fr := newFrameReader(&chunkReader{b: stream, n: chunk}, f, max)
	for {
		p, err := fr.next()
		if err != nil {
			if isFrameError(err) {
				kind := "!malformed"
				if errors.Is(err, ErrTooLarge) {
					kind = "!too large"
				}
				frames = append(frames, kind)
				continue
			}
			if errors.Is(err, io.EOF) {
				return frames, nil
			}
			return frames, err
		}
		frames = append(frames, string(p))
	}
}

func TestSLIPVector(t *testing.T) {
	t.Parallel()
	// protocols.md §1.7: /x ,i 0xC0DB0001.
	payload := hx("2f780000 2c690000 c0db0001")
	framed := hx("c0 2f780000 2c690000 dbdc dbdd 0001 c0")
	if got := appendSLIP(nil, payload); !bytes.Equal(got, framed) {
		t.Fatalf("appendSLIP = % x, want % x", got, framed)
	}
	frames, err := readAll(framed, 0, 1024, 1)
	if err != nil || len(frames) != 1 || frames[0] != string(payload) {
		t.Fatalf("read back %q, %v", frames, err)
	}
}

func TestLengthPrefixVector(t *testing.T) {
	t.Parallel()
	// liblo oscsend osc.tcp:// /cue/1 i 5, captured (protocols.md §2.5).
	framed := hx("00000010 2f637565 2f310000 2c690000 00000005")
	b, err := appendFramed(nil, LengthPrefix, NewMessage("/cue/1", Int32(5)))
	if err != nil || !bytes.Equal(b, framed) {
		t.Fatalf("appendFramed = % x, %v", b, err)
	}
	p, err := newFrameReader(bytes.NewReader(framed), 0, 1024).next()
	if err != nil || !bytes.Equal(p, framed[4:]) {
		t.Fatalf("next = % x, %v", p, err)
	}
}

func TestFrameReader(t *testing.T) {
	t.Parallel()
	lp := func(s string) []byte { return cat(u32(uint32(len(s))), []byte(s)) }
	for _, c := range []struct {
		name    string
		stream  []byte
		framing Framing // 0: detect
		want    []string
		fatal   error
	}{
		{"length prefix, detected", cat(lp("abcd"), lp("efghijkl")), 0, []string{"abcd", "efghijkl"}, nil},
		{"SLIP, detected", []byte("\xc0abcd\xc0\xc0efgh\xc0"), 0, []string{"abcd", "efgh"}, nil},
		{"SLIP empty frames ignored", []byte("\xc0\xc0\xc0abcd\xc0\xc0\xc0"), SLIP, []string{"abcd"}, nil},
		{"SLIP single END between frames", []byte("\xc0abcd\xc0efgh\xc0"), SLIP, []string{"abcd", "efgh"}, nil},
		{"SLIP escapes", []byte("\xc0a\xdb\xdcb\xdb\xddc\xc0"), SLIP, []string{"a\xc0b\xdbc"}, nil},
		{"SLIP bad escape drops one frame", []byte("\xc0a\xdbxb\xc0good\xc0"), SLIP, []string{"!malformed", "good"}, nil},
		{"SLIP escape at frame end", []byte("\xc0ab\xdb\xc0good\xc0"), SLIP, []string{"!malformed", "good"}, nil},
		{"SLIP frame over the limit skipped", cat([]byte("\xc0"), bytes.Repeat([]byte("x"), 40), []byte("\xc0ok\xc0")), SLIP, []string{"!too large", "ok"}, nil},
		{"SLIP frame far over the limit skipped", cat([]byte("\xc0"), bytes.Repeat([]byte("x"), 400), []byte("\xc0ok\xc0")), SLIP, []string{"!too large", "ok"}, nil},
		{"SLIP escaped frame at the limit", cat([]byte("\xc0"), bytes.Repeat([]byte("\xdb\xdc"), 16), []byte("\xc0")), SLIP, []string{string(bytes.Repeat([]byte{0xc0}, 16))}, nil},
		{"SLIP unterminated last frame", []byte("\xc0abcd\xc0ef"), SLIP, []string{"abcd"}, nil},
		{"length prefix over the limit is fatal", cat(lp("abcd"), u32(17)), LengthPrefix, []string{"abcd"}, ErrTooLarge},
		{"huge length prefix is fatal, not allocated", u32(0x7fffffff), LengthPrefix, nil, ErrTooLarge},
		{"raw OSC without framing is fatal", []byte("/cuelight/fly/go\x00\x00\x00\x00,\x00\x00\x00"), 0, nil, ErrTooLarge},
		{"zero length prefix drops one frame", cat(u32(0), lp("abcd")), LengthPrefix, []string{"!malformed", "abcd"}, nil},
		{"length prefix at the limit", lp("0123456789abcdef"), LengthPrefix, []string{"0123456789abcdef"}, nil},
		{"truncated length prefix frame", cat(lp("abcd"), u32(8), []byte("ab")), LengthPrefix, []string{"abcd"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, chunk := range []int{1, 3, 1 << 20} {
				got, err := readAll(c.stream, c.framing, 16, chunk)
				if !errors.Is(err, c.fatal) || (c.fatal == nil && err != nil) {
					t.Fatalf("chunk %d: fatal error %v, want %v", chunk, err, c.fatal)
				}
				if len(got) != len(c.want) {
					t.Fatalf("chunk %d: frames %q, want %q", chunk, got, c.want)
				}
				for i := range got {
					if got[i] != c.want[i] {
						t.Fatalf("chunk %d: frame %d = %q, want %q", chunk, i, got[i], c.want[i])
					}
				}
			}
		})
	}
}

func TestFrameReaderBufferStaysBounded(t *testing.T) {
	t.Parallel()
	// A never-ending SLIP frame must not grow the buffer past ~2·max.
	stream := cat([]byte("\xc0"), bytes.Repeat([]byte("y"), 100_000))
	fr := newFrameReader(&chunkReader{b: stream, n: 4096}, SLIP, 1000)
	_, err := fr.next()
	if !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v", err)
	}
	if len(fr.buf) > 4*1000 {
		t.Fatalf("buffer grew to %d bytes for a 1000-byte limit", len(fr.buf))
	}
}

func TestAppendFramedUnknown(t *testing.T) {
	t.Parallel()
	if _, err := appendFramed(nil, 0, NewMessage("/a")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	if _, err := appendFramed(nil, SLIP, NewMessage("a")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	if s := LengthPrefix.String() + " " + SLIP.String() + " " + Framing(0).String(); s != "length-prefix slip none" {
		t.Fatalf("String() = %q", s)
	}
}
