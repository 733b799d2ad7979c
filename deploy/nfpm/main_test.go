package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/blakesmith/ar"
)

func TestDebVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"release tag", "v1.2.3", "1.2.3"},
		{"release without v", "1.2.3", "1.2.3"},
		{"pre-release sorts before its release", "v1.2.0-rc1", "1.2.0~rc1"},
		{"dotted pre-release", "v1.2.0-rc.2", "1.2.0~rc.2"},
		{"commits after a tag sort after it", "v1.2.3-4-gabc1234", "1.2.3+4.gabc1234"},
		{"commits after a pre-release", "v1.2.0-rc1-12-g0123abcd", "1.2.0~rc1+12.g0123abcd"},
		{"dirty release", "v1.2.3-dirty", "1.2.3+dirty"},
		{"dirty after commits", "v1.2.3-4-gabc1234-dirty", "1.2.3+4.gabc1234.dirty"},
		{"no tag yet sorts before every release", "0.0.0-20251127213300-34575db12345", "0.0.0~20251127213300.34575db12345"},
		{"no tag yet, dirty", "0.0.0-20251127213300-34575db-dirty", "0.0.0~20251127213300.34575db+dirty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := debVersion(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("debVersion(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"bare commit hash (git describe --always, no tag)", "34575db"},
		{"dev build", "dev"},
		{"two-part version", "v1.2"},
		{"space", "v1.2.3 beta"},
		{"underscore in pre-release", "v1.2.3-rc_1"},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			t.Parallel()
			if got, err := debVersion(tc.in); err == nil {
				t.Fatalf("debVersion(%q) = %q, want an error", tc.in, got)
			}
		})
	}
}

// fakeBinaries writes stand-ins for cuelightd, cuectl and cuelight-broker.
func fakeBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"cuelightd", "cuectl", "cuelight-broker"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\necho "+name+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testOptions(t *testing.T, arch string) options {
	return options{
		arch:       arch,
		version:    "v1.2.3-4-gabc1234",
		binDir:     fakeBinaries(t),
		root:       filepath.Join("..", ".."),
		outDir:     t.TempDir(),
		mtime:      time.Unix(1764279180, 0).UTC(),
		maintainer: "Test <test@example.invalid>",
	}
}

// debFile is one file of a package.
type debFile struct {
	mode  int64
	owner string
	group string
	body  []byte
}

// readDeb splits a .deb into its members, its data files and its control
// files.
func readDeb(t *testing.T, path string) (members []string, data, control map[string]debFile) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := ar.NewReader(f)
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		members = append(members, name)
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		switch name {
		case "control.tar.gz":
			control = readTarGz(t, body)
		case "data.tar.gz":
			data = readTarGz(t, body)
		}
	}
	return members, data, control
}

func readTarGz(t *testing.T, b []byte) map[string]debFile {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]debFile{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		name := "/" + strings.TrimPrefix(strings.TrimPrefix(h.Name, "."), "/")
		if h.Typeflag == tar.TypeDir {
			name = strings.TrimSuffix(name, "/") + "/"
		}
		out[name] = debFile{mode: h.Mode & 0o7777, owner: h.Uname, group: h.Gname, body: body}
	}
}

// controlField returns one field of the control file.
func controlField(control, key string) string {
	for _, line := range strings.Split(control, "\n") {
		if v, ok := strings.CutPrefix(line, key+": "); ok {
			return v
		}
	}
	return ""
}

func TestPackage(t *testing.T) {
	t.Parallel()
	docs, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no docs/*.md: %v", err)
	}
	for _, arch := range []string{"amd64", "arm64", "armhf"} {
		t.Run(arch, func(t *testing.T) {
			t.Parallel()
			o := testOptions(t, arch)
			path, err := build(o)
			if err != nil {
				t.Fatal(err)
			}
			if want := "cuelight_1.2.3+4.gabc1234_" + arch + ".deb"; filepath.Base(path) != want {
				t.Errorf("file name %s, want %s", filepath.Base(path), want)
			}
			members, data, control := readDeb(t, path)
			if got := strings.Join(members, " "); got != "debian-binary control.tar.gz data.tar.gz" {
				t.Errorf("ar members %q", got)
			}

			want := map[string]int64{ // every regular file and its mode
				"/usr/bin/cuelightd":                                           0o755,
				"/usr/bin/cuectl":                                              0o755,
				"/usr/bin/cuelight-broker":                                     0o755,
				"/lib/systemd/system/cuelightd.service":                        0o644,
				"/etc/cuelight/cuelight.yaml":                                  0o640,
				"/usr/share/doc/cuelight/README.md":                            0o644,
				"/usr/share/doc/cuelight/copyright":                            0o644,
				"/usr/share/doc/cuelight/examples/reference.yaml":              0o644,
				"/usr/share/doc/cuelight/examples/mosquitto/cuelight.conf":     0o644,
				"/usr/share/doc/cuelight/examples/mosquitto/acl":               0o644,
				"/usr/share/doc/cuelight/examples/mosquitto/passwords.example": 0o644,
				"/usr/share/doc/cuelight/examples/mosquitto/README.md":         0o644,
			}
			for _, d := range docs {
				want["/usr/share/doc/cuelight/"+filepath.Base(d)] = 0o644
			}
			var got []string
			for name, f := range data {
				if strings.HasSuffix(name, "/") {
					if f.mode != 0o755 {
						t.Errorf("directory %s has mode %o, want 755", name, f.mode)
					}
					continue
				}
				got = append(got, name)
				m, ok := want[name]
				if !ok {
					t.Errorf("unexpected file %s", name)
					continue
				}
				if f.mode != m {
					t.Errorf("%s has mode %o, want %o", name, f.mode, m)
				}
				if f.owner != "root" || f.group != "root" {
					t.Errorf("%s is owned by %s:%s, want root:root", name, f.owner, f.group)
				}
			}
			for name := range want {
				if _, ok := data[name]; !ok {
					t.Errorf("missing %s", name)
				}
			}
			sort.Strings(got)
			if t.Failed() {
				t.Logf("files: %s", strings.Join(got, "\n"))
			}

			for src, dst := range map[string]string{
				filepath.Join(o.binDir, "cuelightd"):                                "/usr/bin/cuelightd",
				filepath.Join(o.binDir, "cuelight-broker"):                          "/usr/bin/cuelight-broker",
				filepath.Join("..", "..", "deploy", "cuelight.yaml"):                "/etc/cuelight/cuelight.yaml",
				filepath.Join("..", "..", "config", "reference.yaml"):               "/usr/share/doc/cuelight/examples/reference.yaml",
				filepath.Join("..", "..", "deploy", "debian", "copyright"):          "/usr/share/doc/cuelight/copyright",
				filepath.Join("..", "..", "deploy", "systemd", "cuelightd.service"): "/lib/systemd/system/cuelightd.service",
			} {
				b, err := os.ReadFile(src)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(data[dst].body, b) {
					t.Errorf("%s differs from %s", dst, src)
				}
			}

			ctl := string(control["/control"].body)
			for key, want := range map[string]string{
				"Package":      "cuelight",
				"Version":      "1.2.3+4.gabc1234",
				"Architecture": arch,
				"Depends":      "passwd",
				"Maintainer":   "Test <test@example.invalid>",
			} {
				if got := controlField(ctl, key); got != want {
					t.Errorf("control %s: %q, want %q\n%s", key, got, want, ctl)
				}
			}
			if got := string(control["/conffiles"].body); got != "/etc/cuelight/cuelight.yaml\n" {
				t.Errorf("conffiles %q, want only the show file", got)
			}
			for _, s := range []string{"postinst", "prerm", "postrm"} {
				f, ok := control["/"+s]
				if !ok {
					t.Errorf("no %s", s)
					continue
				}
				if f.mode != 0o755 {
					t.Errorf("%s mode %o, want 755", s, f.mode)
				}
				b, err := os.ReadFile(filepath.Join("..", "debian", s))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(f.body, b) {
					t.Errorf("%s differs from deploy/debian/%s", s, s)
				}
			}
			if _, ok := control["/preinst"]; ok {
				t.Error("unexpected preinst")
			}
		})
	}
}

// TestReproducible builds the same package twice, and once with another
// time: the same inputs must give the same bytes, and the time must be the
// one given, not the clock's.
func TestReproducible(t *testing.T) {
	t.Parallel()
	o := testOptions(t, "arm64")
	read := func(o options) []byte {
		t.Helper()
		o.outDir = t.TempDir()
		p, err := build(o)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := read(o), read(o)
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the same inputs differ")
	}
	o.mtime = o.mtime.Add(time.Hour)
	if bytes.Equal(a, read(o)) {
		t.Fatal("a build with another -mtime is identical: the time is not applied")
	}
}

func TestPackageRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, o *options)
		want   string
	}{
		{"unknown architecture", func(_ *testing.T, o *options) { o.arch = "armel" }, "use amd64, arm64 or armhf"},
		{"Go architecture name", func(_ *testing.T, o *options) { o.arch = "arm" }, "use amd64, arm64 or armhf"},
		{"no binary directory", func(_ *testing.T, o *options) { o.binDir = "" }, "-bin is required"},
		{"missing cuectl", func(t *testing.T, o *options) {
			if err := os.Remove(filepath.Join(o.binDir, "cuectl")); err != nil {
				t.Fatal(err)
			}
		}, "cuectl"},
		{"version that is not one", func(_ *testing.T, o *options) { o.version = "34575db" }, "version"},
		{"wrong repository root", func(t *testing.T, o *options) { o.root = t.TempDir() }, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := testOptions(t, "amd64")
			tc.change(t, &o)
			p, err := build(o)
			if err == nil {
				t.Fatalf("built %s, want an error", p)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "nfpm: ") {
				t.Fatalf("error %q, want the nfpm: prefix and %q", err, tc.want)
			}
			if left, _ := filepath.Glob(filepath.Join(o.outDir, "*")); len(left) > 0 {
				t.Fatalf("left %v behind", left)
			}
		})
	}
}

func TestRunFlags(t *testing.T) {
	t.Parallel()
	o := testOptions(t, "amd64")
	var out, errb bytes.Buffer
	code := run([]string{"-arch", "amd64", "-version", "v0.1.0", "-bin", o.binDir, "-root", o.root, "-out", o.outDir, "-mtime", "1764279180"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if got, want := strings.TrimSpace(out.String()), filepath.Join(o.outDir, "cuelight_0.1.0_amd64.deb"); got != want {
		t.Fatalf("printed %q, want %q", got, want)
	}
	// Without -maintainer the package names the project at a real
	// address, not a person and not a placeholder domain.
	_, _, control := readDeb(t, strings.TrimSpace(out.String()))
	if got, want := controlField(string(control["/control"].body), "Maintainer"), "cuelight developers <cuelight@users.noreply.github.com>"; got != want {
		t.Errorf("default Maintainer %q, want %q", got, want)
	}
	errb.Reset()
	if code := run([]string{"-arch", "amd64", "-version", "v0.1.0", "-bin", o.binDir, "-mtime", "-5", "extra"}, &out, &errb); code != 2 {
		t.Fatalf("exit %d for an extra argument, want 2", code)
	}
}
