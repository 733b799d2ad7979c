package gpiovm

import (
	"bytes"
	"compress/gzip"
	"io"
	"strconv"
	"strings"
	"testing"
)

// readNewc lists a newc archive: name → (mode, data), for the test only.
func readNewc(t *testing.T, b []byte) map[string]struct {
	mode uint64
	data string
} {
	t.Helper()
	out := map[string]struct {
		mode uint64
		data string
	}{}
	for off := 0; ; {
		if len(b)-off < 110 || string(b[off:off+6]) != "070701" {
			t.Fatalf("offset %d: no newc header", off)
		}
		field := func(i int) uint64 {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		mode, size, namesize := field(1), int(field(6)), int(field(11))
		name := string(b[off+110 : off+110+namesize-1])
		if b[off+110+namesize-1] != 0 {
			t.Fatalf("%s: name not NUL-terminated", name)
		}
		off += (110 + namesize + 3) &^ 3
		if name == "TRAILER!!!" {
			return out
		}
		out[name] = struct {
			mode uint64
			data string
		}{mode, string(b[off : off+size])}
		off += (size + 3) &^ 3
	}
}

func TestInitramfsIsNewc(t *testing.T) {
	t.Parallel()
	fs := Initramfs{"init": []byte("#!binary"), "show.yaml": []byte("show: x\n"), "lib/modules/wdt.ko": []byte("12345")}
	var gz bytes.Buffer
	if _, err := fs.WriteTo(&gz); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&gz)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	got := readNewc(t, raw)
	for name, want := range fs {
		e, ok := got[name]
		if !ok || e.data != string(want) || e.mode != 0o100755 {
			t.Errorf("%s: %+v, want a 0755 file holding %q", name, e, want)
		}
	}
	for _, d := range []string{"lib", "lib/modules"} {
		if e, ok := got[d]; !ok || e.mode != 0o040755 {
			t.Errorf("directory %s: %+v", d, e)
		}
	}
	if len(got) != len(fs)+2 {
		t.Errorf("%d entries, want %d", len(got), len(fs)+2)
	}
}

func TestCheckConfig(t *testing.T) {
	t.Parallel()
	ok := "CONFIG_GPIO_CDEV=y\nCONFIG_GPIO_CDEV_V1=y\nCONFIG_PINCTRL_BCM2835=y\n"
	if err := checkConfig([]byte(ok)); err != nil {
		t.Errorf("good config: %v", err)
	}
	bad := "CONFIG_GPIO_CDEV=y\n# CONFIG_PINCTRL_BCM2835 is not set\n"
	if err := checkConfig([]byte(bad)); err == nil || !strings.Contains(err.Error(), "CONFIG_PINCTRL_BCM2835=y") {
		t.Errorf("config without the pin driver: %v", err)
	}
	if err := checkConfig([]byte("CONFIG_PINCTRL_BCM2835=m\nCONFIG_GPIO_CDEV=y\n")); err == nil {
		t.Error("a module is not built in")
	}
}

func TestParseQtestReply(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line, reply string
		ok, err     bool
	}{
		{"OK\n", "", true, false},
		{"OK 0x00420000\n", "0x00420000", true, false},
		{"IRQ raise 17\n", "", false, false},
		{"FAIL Unknown command 'x'\n", "", false, true},
		{"garbage\n", "", false, true},
	} {
		reply, ok, err := parseQtestReply(tc.line)
		if reply != tc.reply || ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("parseQtestReply(%q) = %q, %v, %v", tc.line, reply, ok, err)
		}
	}
}

func FuzzParseQtestReply(f *testing.F) {
	for _, s := range []string{"OK\n", "OK 0x00420000\n", "IRQ lower 3\n", "FAIL\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		reply, ok, err := parseQtestReply(line)
		if ok && err != nil {
			t.Fatalf("%q: both a reply and an error", line)
		}
		if !ok && reply != "" {
			t.Fatalf("%q: a reply %q without ok", line, reply)
		}
	})
}
