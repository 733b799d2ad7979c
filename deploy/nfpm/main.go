// Command nfpm builds cuelight's Debian packages with nfpm, used as a
// library (github.com/goreleaser/nfpm/v2). It is a Go module of its own
// (deploy/nfpm/go.mod pins nfpm and everything it needs), so the product's
// go.mod lists only what the product's programs link, and they can never
// link the packager.
//
//	go -C deploy/nfpm build -o /tmp/nfpm . && /tmp/nfpm -arch arm64 -version v1.2.0 -bin dist/linux_arm64 -out dist
//
// deploy/build.sh (make deb, make dist) builds it that way and runs it from
// the repository root, after building the binaries. -version is the version stamped
// into the binaries (git describe, or 0.0.0-YYYYMMDDHHMMSS-SHA without a
// tag); the package gets the Debian form of it (see debVersion). Every file
// in the package carries the time of -mtime or $SOURCE_DATE_EPOCH, so the
// same inputs give the same .deb byte for byte.
//
// The package holds /usr/bin/cuelightd, /usr/bin/cuectl and
// /usr/bin/cuelight-broker (the embedded broker, which cuelightd starts
// from its own directory: docs/architecture.md), the systemd
// unit, deploy/cuelight.yaml (loopback only, no users) as the conffile
// /etc/cuelight/cuelight.yaml (mode 0640; postinst gives it to group
// cuelight), the documentation, the copyright file, config/reference.yaml
// and the Mosquitto example under /usr/share/doc/cuelight, and the
// maintainer scripts from deploy/debian. Installing it enables and starts
// nothing (deploy/debian/postinst).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options is one package to build.
type options struct {
	arch       string    // Debian architecture: amd64, arm64 or armhf
	version    string    // the binaries' version (git describe form)
	binDir     string    // holds cuelightd and cuectl for arch
	root       string    // the repository root
	outDir     string    // where the .deb goes
	mtime      time.Time // every file's time in the package
	maintainer string
}

// defaultMaintainer is the package's Maintainer field: the project, not a
// person, at an address that exists for it.
const defaultMaintainer = "cuelight developers <cuelight@users.noreply.github.com>"

// debArches are the architectures cuelight is packaged for. armhf carries
// the GOARM=6 build: Raspberry Pi OS's 32-bit armhf is ARMv6 (it runs on
// the Pi Zero and Pi 1), and an ARMv6 binary runs on every later Pi too.
var debArches = map[string]bool{"amd64": true, "arm64": true, "armhf": true}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nfpm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.arch, "arch", "", "Debian architecture: amd64, arm64 or armhf (give it the GOARM=6 binaries)")
	fs.StringVar(&o.version, "version", "", "version stamped into the binaries (git describe form, or 0.0.0-YYYYMMDDHHMMSS-SHA)")
	fs.StringVar(&o.binDir, "bin", "", "directory holding this architecture's cuelightd and cuectl")
	fs.StringVar(&o.root, "root", ".", "the repository root (config/, docs/, deploy/)")
	fs.StringVar(&o.outDir, "out", "dist", "directory to write the .deb into")
	fs.StringVar(&o.maintainer, "maintainer", defaultMaintainer, "the package's Maintainer field")
	mtime := fs.Int64("mtime", -1, "time of every file in the package, Unix seconds (default $SOURCE_DATE_EPOCH)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "nfpm: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *mtime < 0 {
		sde := os.Getenv("SOURCE_DATE_EPOCH")
		if sde == "" {
			fmt.Fprintln(stderr, "nfpm: give -mtime or set SOURCE_DATE_EPOCH (deploy/build.sh uses the last commit's time)")
			return 2
		}
		v, err := strconv.ParseInt(sde, 10, 64)
		if err != nil || v < 0 {
			fmt.Fprintf(stderr, "nfpm: SOURCE_DATE_EPOCH=%q is not Unix seconds\n", sde)
			return 2
		}
		*mtime = v
	}
	o.mtime = time.Unix(*mtime, 0).UTC()
	path, err := build(o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintln(stdout, path)
	return 0
}

// build writes the package for o and returns its path.
func build(o options) (string, error) {
	info, err := packageInfo(o)
	if err != nil {
		return "", err
	}
	if err := nfpm.Validate(info); err != nil {
		return "", fmt.Errorf("nfpm: %w", err)
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return "", fmt.Errorf("nfpm: %w", err)
	}
	path := filepath.Join(o.outDir, deb.Default.ConventionalFileName(info))
	tmp, err := os.CreateTemp(o.outDir, ".cuelight-*.deb")
	if err != nil {
		return "", fmt.Errorf("nfpm: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename this removes nothing
	if err := deb.Default.Package(info, tmp); err != nil {
		tmp.Close()
		return "", fmt.Errorf("nfpm: packaging %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return "", fmt.Errorf("nfpm: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("nfpm: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("nfpm: %w", err)
	}
	return path, nil
}

// packageInfo describes the package for o. Every source file must exist:
// a package missing a binary or the unit is never written.
func packageInfo(o options) (*nfpm.Info, error) {
	if !debArches[o.arch] {
		return nil, fmt.Errorf("nfpm: -arch %q: use amd64, arm64 or armhf", o.arch)
	}
	if o.binDir == "" {
		return nil, errors.New("nfpm: -bin is required")
	}
	version, err := debVersion(o.version)
	if err != nil {
		return nil, err
	}
	src := func(p string) string { return filepath.Join(o.root, filepath.FromSlash(p)) }
	bin := func(name string) string { return filepath.Join(o.binDir, name) }
	const doc = "/usr/share/doc/cuelight/"
	contents := files.Contents{
		{Source: bin("cuelightd"), Destination: "/usr/bin/cuelightd", FileInfo: mode(0o755)},
		{Source: bin("cuectl"), Destination: "/usr/bin/cuectl", FileInfo: mode(0o755)},
		{Source: bin("cuelight-broker"), Destination: "/usr/bin/cuelight-broker", FileInfo: mode(0o755)},
		{Source: src("deploy/systemd/cuelightd.service"), Destination: "/lib/systemd/system/cuelightd.service", FileInfo: mode(0o644)},
		// The shipped show file binds loopback only and holds no users
		// (docs/protocol.md §6.9); the technician writes the real show
		// over it. It may then hold the station's broker password:
		// readable by root only until postinst hands it to group cuelight.
		{Source: src("deploy/cuelight.yaml"), Destination: "/etc/cuelight/cuelight.yaml", Type: files.TypeConfig, FileInfo: mode(0o640)},
		{Source: src("deploy/debian/copyright"), Destination: doc + "copyright", FileInfo: mode(0o644)},
		{Source: src("README.md"), Destination: doc + "README.md", FileInfo: mode(0o644)},
		{Source: src("docs/*.md"), Destination: doc, FileInfo: mode(0o644)},
		// Every key of a show file, with two stations, the embedded broker
		// on the network and example users: an example, never installed
		// as the show file.
		{Source: src("config/reference.yaml"), Destination: doc + "examples/reference.yaml", FileInfo: mode(0o644)},
		{Source: src("deploy/mosquitto/cuelight.conf"), Destination: doc + "examples/mosquitto/cuelight.conf", FileInfo: mode(0o644)},
		{Source: src("deploy/mosquitto/acl"), Destination: doc + "examples/mosquitto/acl", FileInfo: mode(0o644)},
		{Source: src("deploy/mosquitto/passwords.example"), Destination: doc + "examples/mosquitto/passwords.example", FileInfo: mode(0o644)},
		{Source: src("deploy/mosquitto/README.md"), Destination: doc + "examples/mosquitto/README.md", FileInfo: mode(0o644)},
	}
	for _, c := range contents {
		if strings.ContainsAny(c.Source, "*?[") {
			m, err := filepath.Glob(c.Source)
			if err != nil || len(m) == 0 {
				return nil, fmt.Errorf("nfpm: no files match %s", c.Source)
			}
			continue
		}
		if _, err := os.Stat(c.Source); err != nil {
			return nil, fmt.Errorf("nfpm: %w", err)
		}
	}
	scripts := nfpm.Scripts{
		PostInstall: src("deploy/debian/postinst"),
		PreRemove:   src("deploy/debian/prerm"),
		PostRemove:  src("deploy/debian/postrm"),
	}
	for _, s := range []string{scripts.PostInstall, scripts.PreRemove, scripts.PostRemove} {
		if _, err := os.Stat(s); err != nil {
			return nil, fmt.Errorf("nfpm: %w", err)
		}
	}
	info := &nfpm.Info{
		Name:          "cuelight",
		Arch:          o.arch,
		Platform:      "linux",
		Version:       version,
		VersionSchema: "none", // debVersion already gave the Debian form
		Section:       "misc",
		Priority:      "optional",
		Maintainer:    o.maintainer,
		Homepage:      "https://github.com/cuelight/cuelight",
		Description: "cue-light controller for theatres (wing station daemon)\n" +
			"cuelightd runs at a wing station, normally a Raspberry Pi: it drives\n" +
			"the cue lamps and reads the ACK and CALL buttons through GPIO, takes\n" +
			"standby and GO from the booth as OSC (QLab, ETC Eos, Companion,\n" +
			"TouchOSC) and reports state and acknowledgements over MQTT.\n" +
			"cuectl drives and watches a show from a terminal.",
		MTime: o.mtime,
		Overridables: nfpm.Overridables{
			// useradd, groupadd, usermod, userdel in the maintainer scripts.
			Depends:  []string{"passwd"},
			Suggests: []string{"mosquitto", "mosquitto-clients", "chrony", "liblo-tools"},
			Contents: contents,
			Scripts:  scripts,
			Umask:    0o022,
		},
	}
	return nfpm.WithDefaults(info), nil
}

func mode(m os.FileMode) *files.ContentFileInfo {
	return &files.ContentFileInfo{Mode: m, Owner: "root", Group: "root"}
}

var (
	// v1.2.3-4-gabc1234: four commits after tag v1.2.3.
	describeRe = regexp.MustCompile(`^(.+)-([0-9]+)-g([0-9a-f]{4,40})$`)
	// 0.0.0-20251127213300-abc1234: no tag yet (deploy/version.sh).
	pseudoRe = regexp.MustCompile(`^0\.0\.0-([0-9]{14})-([0-9a-f]{4,40})$`)
	// 1.2.3, 1.2.3-rc1, 1.2.3-rc.1
	releaseRe = regexp.MustCompile(`^([0-9]+\.[0-9]+\.[0-9]+)(?:-([0-9A-Za-z.-]+))?$`)
	// What dpkg accepts for a version without epoch or revision.
	debRe = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*$`)
)

// debVersion turns the binaries' version into a Debian one that sorts the
// way the releases do: a pre-release before its release (1.2.0~rc1 <
// 1.2.0), commits after a tag after it (1.2.0+4.gabc1234 > 1.2.0), and a
// build before any tag (0.0.0-DATE-SHA) before every release
// (0.0.0~DATE.SHA). A dirty tree adds "+dirty" (or ".dirty").
func debVersion(v string) (string, error) {
	orig := v
	v = strings.TrimPrefix(v, "v")
	dirty := strings.HasSuffix(v, "-dirty")
	v = strings.TrimSuffix(v, "-dirty")
	var out string
	if m := pseudoRe.FindStringSubmatch(v); m != nil {
		out = "0.0.0~" + m[1] + "." + m[2]
	} else {
		after := ""
		if m := describeRe.FindStringSubmatch(v); m != nil {
			v, after = m[1], "+"+m[2]+".g"+m[3]
		}
		m := releaseRe.FindStringSubmatch(v)
		if m == nil {
			return "", fmt.Errorf("nfpm: version %q: want vX.Y.Z[-pre][-N-gSHA][-dirty] (git describe --tags) or 0.0.0-YYYYMMDDHHMMSS-SHA", orig)
		}
		out = m[1]
		if m[2] != "" {
			out += "~" + strings.ReplaceAll(m[2], "-", ".")
		}
		out += after
	}
	if dirty {
		if strings.Contains(out, "+") {
			out += ".dirty"
		} else {
			out += "+dirty"
		}
	}
	if !debRe.MatchString(out) {
		return "", fmt.Errorf("nfpm: version %q gives %q, not a Debian version", orig, out)
	}
	return out, nil
}
