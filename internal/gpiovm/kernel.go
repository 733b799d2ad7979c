// Package gpiovm boots Debian's arm64 kernel in QEMU's raspi3b machine so
// that the station can be tested on a real Linux GPIO driver
// (pinctrl-bcm2835, /dev/gpiochip0) without a Raspberry Pi. The host sees
// the pins through QEMU's qtest socket: it reads the lamps from the GPIO
// level register and presses buttons by writing the set/clear registers.
//
// The pieces: Kernel fetches and caches the kernel (a private APT
// configuration, never the system's dpkg architectures), Initramfs writes
// the gzip'd newc archive whose /init is the project's own static Go
// program (internal/gpiovm/guest), and Boot starts QEMU. The test that uses
// them is vm_test.go (go test -tags gpiovm, or make test-gpio-vm); see
// docs/hardware-test.md.
package gpiovm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Kernel is an extracted Debian arm64 kernel package.
type Kernel struct {
	Package string // e.g. linux-image-6.1.0-57-arm64
	Version string // the package version, e.g. 6.1.192-3
	Image   string // path of the raw arm64 Image (boot/vmlinuz-*)
	Config  string // path of boot/config-*
	DTB     string // path of bcm2837-rpi-3-b.dtb
	WDT     string // path of bcm2835_wdt.ko (power-off ends QEMU only with it)
	// NetModules are the paths of the modules of the USB network (the
	// Pi's dwc2 controller, QEMU's usb-net as a CDC Ethernet device), in
	// load order: dependencies first.
	NetModules []string
}

// netModules are the modules of the guest's network, in load order, as
// paths under lib/modules/*/kernel/ (Debian ships no modules.dep: the
// order comes from each module's depends= field).
var netModules = []string{
	"drivers/usb/common/usb-common.ko",
	"drivers/usb/core/usbcore.ko",
	"drivers/usb/roles/roles.ko",
	"drivers/usb/gadget/udc/udc-core.ko",
	"drivers/usb/phy/phy-generic.ko",
	"drivers/usb/dwc2/dwc2.ko",
	"drivers/net/mii.ko",
	"drivers/net/usb/usbnet.ko",
	"drivers/net/usb/cdc_ether.ko",
}

// DefaultCacheDir is where the kernel is kept between runs:
// $CUELIGHT_GPIO_VM_CACHE, else /var/cache/cuelight-gpio-vm when writable
// (root on CI), else $XDG_CACHE_HOME/cuelight-gpio-vm (~/.cache).
func DefaultCacheDir() string {
	if d := os.Getenv("CUELIGHT_GPIO_VM_CACHE"); d != "" {
		return d
	}
	const sys = "/var/cache/cuelight-gpio-vm"
	if err := os.MkdirAll(sys, 0o755); err == nil {
		if f, err := os.CreateTemp(sys, ".probe"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return sys
		}
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "cuelight-gpio-vm")
	}
	return filepath.Join(os.TempDir(), "cuelight-gpio-vm")
}

// kernelFresh is how long a cached kernel is used without asking APT
// whether a newer one is out.
const kernelFresh = 24 * time.Hour

// FetchKernel returns Debian's current arm64 kernel, from cacheDir when a
// copy younger than a day is there, else downloaded with apt-get through a
// private configuration (its own lists, cache and an empty dpkg status:
// the system's architectures and package state are not touched). When APT
// cannot be reached, an older cached copy is used. logf reports progress.
func FetchKernel(ctx context.Context, cacheDir string, logf func(format string, args ...any)) (*Kernel, error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	current := filepath.Join(cacheDir, "current") // names the extracted package directory
	cached := func() (*Kernel, time.Time, error) {
		fi, err := os.Stat(current)
		if err != nil {
			return nil, time.Time{}, err
		}
		b, err := os.ReadFile(current)
		if err != nil {
			return nil, time.Time{}, err
		}
		f := strings.Fields(string(b))
		if len(f) != 2 {
			return nil, time.Time{}, fmt.Errorf("gpiovm: %s: want \"package version\"", current)
		}
		k, err := findKernel(filepath.Join(cacheDir, f[0]+"_"+f[1]), f[0], f[1])
		return k, fi.ModTime(), err
	}
	if k, at, err := cached(); err == nil && time.Since(at) < kernelFresh {
		logf("kernel %s %s from the cache (%s)", k.Package, k.Version, cacheDir)
		return k, nil
	}
	k, err := downloadKernel(ctx, cacheDir, logf)
	if err != nil {
		if old, _, cerr := cached(); cerr == nil {
			logf("cannot ask APT for the current kernel (%v): using the cached %s %s", err, old.Package, old.Version)
			return old, nil
		}
		return nil, err
	}
	if err := os.WriteFile(current, []byte(k.Package+" "+k.Version+"\n"), 0o644); err != nil {
		return nil, err
	}
	return k, nil
}

func downloadKernel(ctx context.Context, cacheDir string, logf func(string, ...any)) (*Kernel, error) {
	aptDir := filepath.Join(cacheDir, "apt")
	for _, d := range []string{"lists/partial", "cache/archives/partial", "dl"} {
		if err := os.MkdirAll(filepath.Join(aptDir, d), 0o755); err != nil {
			return nil, err
		}
	}
	conf := filepath.Join(aptDir, "apt.conf")
	text := fmt.Sprintf(`APT::Architecture "arm64";
APT::Architectures { "arm64"; };
Dir::State::Lists %q;
Dir::State::status "/dev/null";
Dir::Cache %q;
APT::Sandbox::User "root";
Acquire::Languages "none";
`, filepath.Join(aptDir, "lists"), filepath.Join(aptDir, "cache"))
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	run := func(dir string, name string, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "APT_CONFIG="+conf, "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return out, nil
	}
	start := time.Now()
	if _, err := run(aptDir, "apt-get", "update", "-qq"); err != nil {
		return nil, err
	}
	out, err := run(aptDir, "apt-cache", "depends", "linux-image-arm64")
	if err != nil {
		return nil, err
	}
	pkg := ""
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		if m := regexp.MustCompile(`^\s*Depends:\s*(linux-image-\S+-arm64)\s*$`).FindStringSubmatch(sc.Text()); m != nil {
			pkg = m[1]
			break
		}
	}
	if pkg == "" {
		return nil, fmt.Errorf("gpiovm: apt-cache depends linux-image-arm64 names no linux-image-*-arm64:\n%s", out)
	}
	out, err = run(aptDir, "apt-cache", "show", "--no-all-versions", pkg)
	if err != nil {
		return nil, err
	}
	m := regexp.MustCompile(`(?m)^Version:\s*(\S+)`).FindSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("gpiovm: apt-cache show %s gives no version", pkg)
	}
	version := string(m[1])
	dest := filepath.Join(cacheDir, pkg+"_"+version)
	if k, err := findKernel(dest, pkg, version); err == nil {
		logf("kernel %s %s (current) from the cache", pkg, version)
		return k, nil
	}
	dl := filepath.Join(aptDir, "dl")
	if _, err := run(dl, "apt-get", "download", "-qq", pkg); err != nil {
		return nil, err
	}
	debs, _ := filepath.Glob(filepath.Join(dl, pkg+"_*.deb"))
	if len(debs) == 0 {
		return nil, fmt.Errorf("gpiovm: apt-get download %s left no .deb in %s", pkg, dl)
	}
	tmp := dest + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	// dpkg-deb --fsys-tarfile | tar -x of the four files needed.
	sh := `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards ` +
		`'./boot/vmlinuz-*' './boot/config-*' './usr/lib/linux-image-*/broadcom/bcm2837-rpi-3-b.dtb' ` +
		`'./lib/modules/*/kernel/drivers/watchdog/bcm2835_wdt.ko'`
	for _, m := range netModules {
		sh += ` './lib/modules/*/kernel/` + m + `'`
	}
	if _, err := run(dl, "sh", "-c", sh, "sh", debs[0], tmp); err != nil {
		return nil, err
	}
	if _, err := findKernel(tmp, pkg, version); err != nil {
		return nil, err
	}
	os.RemoveAll(dest)
	if err := os.Rename(tmp, dest); err != nil {
		return nil, err
	}
	for _, d := range debs {
		os.Remove(d)
	}
	logf("kernel %s %s downloaded and extracted in %s", pkg, version, time.Since(start).Round(100*time.Millisecond))
	return findKernel(dest, pkg, version)
}

// findKernel locates the extracted files under dir.
func findKernel(dir, pkg, version string) (*Kernel, error) {
	k := &Kernel{Package: pkg, Version: version}
	for _, f := range []struct {
		dst  *string
		glob string
	}{
		{&k.Image, "boot/vmlinuz-*"},
		{&k.Config, "boot/config-*"},
		{&k.DTB, "usr/lib/linux-image-*/broadcom/bcm2837-rpi-3-b.dtb"},
		{&k.WDT, "lib/modules/*/kernel/drivers/watchdog/bcm2835_wdt.ko"},
	} {
		m, _ := filepath.Glob(filepath.Join(dir, f.glob))
		if len(m) != 1 {
			return nil, fmt.Errorf("gpiovm: %s: want one %s, found %d", dir, f.glob, len(m))
		}
		*f.dst = m[0]
	}
	for _, mod := range netModules {
		m, _ := filepath.Glob(filepath.Join(dir, "lib/modules/*/kernel", mod))
		if len(m) != 1 {
			return nil, fmt.Errorf("gpiovm: %s: want one %s, found %d", dir, mod, len(m))
		}
		k.NetModules = append(k.NetModules, m[0])
	}
	return k, nil
}

// AddTo puts the watchdog module and the network modules into fs, with
// modules/order naming the network modules in load order (the guest
// program reads it).
func (k *Kernel) AddTo(fs Initramfs) error {
	if err := fs.AddFile("bcm2835_wdt.ko", k.WDT); err != nil {
		return err
	}
	var order []string
	for _, m := range k.NetModules {
		name := strings.TrimSuffix(path.Base(filepath.ToSlash(m)), ".ko")
		if err := fs.AddFile("modules/"+name+".ko", m); err != nil {
			return err
		}
		order = append(order, name)
	}
	fs["modules/order"] = []byte(strings.Join(order, " ") + "\n")
	return nil
}

// RequiredConfig are the kernel options the VM test depends on: the Pi's
// GPIO driver built in, and the GPIO character device.
var RequiredConfig = []string{"CONFIG_PINCTRL_BCM2835=y", "CONFIG_GPIO_CDEV=y"}

// CheckConfig returns an error naming every option of RequiredConfig the
// kernel's config file lacks.
func (k *Kernel) CheckConfig() error {
	b, err := os.ReadFile(k.Config)
	if err != nil {
		return err
	}
	return checkConfig(b)
}

func checkConfig(config []byte) error {
	have := map[string]bool{}
	for _, l := range strings.Split(string(config), "\n") {
		have[strings.TrimSpace(l)] = true
	}
	var missing []string
	for _, want := range RequiredConfig {
		if !have[want] {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		return errors.New("gpiovm: the kernel config lacks " + strings.Join(missing, ", "))
	}
	return nil
}
