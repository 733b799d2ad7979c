package web

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cuelight/cuelight/internal/peertest"
)

// Browser tests drive Debian's chromium, headless, through chromedp. They
// skip without chromium (apt-get install chromium) unless
// CUELIGHT_REQUIRE_PEERS=1, when they fail instead.
//
// Screenshots go to $CUELIGHT_ARTIFACTS when it is set (CI keeps them),
// else to the test's temporary directory.

// browser starts a chromium of its own and returns a tab's context.
func browser(t *testing.T, width, height int) context.Context {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		// deploy/test-arm.sh runs this package under qemu-user: the
		// emulated station is too slow for the pages' timing (lamp phase,
		// latency); CI runs these tests on the amd64 host.
		t.Skipf("browser tests run on the amd64 host only (this is %s)", runtime.GOARCH)
	}
	path := peertest.Need(t, "chromium")
	dir, err := os.MkdirTemp("", "cuelight-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// chromium's children may still write for a moment after it stops
		for range 50 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(dir), chromedp.WindowSize(width, height),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true), chromedp.Flag("disable-renderer-backgrounding", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// do runs steps and fails the test on an error.
func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitFor waits (generously) until a JavaScript expression is true; it
// keeps asking across page loads.
func waitFor(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		if ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return
		}
		time.Sleep(15 * time.Millisecond)
	}
	html, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	t.Fatalf("waiting for %s (%s): %v\npage text:\n%s", what, expr, err, html)
}

// screenshot saves the viewport as name.png among the test's artifacts.
func screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	dir := os.Getenv("CUELIGHT_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
	return p
}

// docShot writes the viewport as name.png into $CUELIGHT_DOCS_IMG when it
// is set: how docs/img/desk.png and docs/img/wing.png are made
// (CUELIGHT_DOCS_IMG=$PWD/docs/img go test -run TestBrowserStation ./internal/web).
func docShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CUELIGHT_DOCS_IMG")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
