package browsertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portcullis-dev/portcullis/internal/demo"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// chromiumPath is the browser the tests drive: Debian's chromium package,
// which CI installs.
const chromiumPath = "/usr/bin/chromium"

// testTimeout bounds one test, browser work included.
const testTimeout = 30 * time.Second

// now is the demo world's "today" and the store's clock: fixed for the
// whole test binary so the seeded template and every test agree on dates
// (days back cutoffs, "recent" orders), and close to the real time so the
// browser's session cookie is valid.
var now = time.Now().UTC().Truncate(time.Second)

func clock() time.Time { return now }

// TestMain stops the shared browser and removes the shared files after the
// tests.
func TestMain(m *testing.M) {
	code := m.Run()
	shared.stop()
	os.Exit(code)
}

// sharedState is what the tests of this binary share: one browser (one
// allocator, one browser process; every test opens its own browser context
// in it) and the seeded template database.
type sharedState struct {
	browserOnce sync.Once
	browserCtx  context.Context
	cancel      []context.CancelFunc
	browserErr  error
	profileDir  string

	seedOnce sync.Once
	seedDir  string
	template string // path of the seeded SQLite file
	seedErr  error
}

var shared sharedState

// browser returns the shared browser's context, starting the browser on
// first use. A missing Chromium skips the test, or fails it under CI=true.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium is required under CI=true: %s: %v (install Debian's chromium package)", chromiumPath, err)
		}
		t.Skipf("Chromium not found at %s (install Debian's chromium package): %v", chromiumPath, err)
	}
	shared.browserOnce.Do(startBrowser)
	if shared.browserErr != nil {
		t.Fatalf("start Chromium: %v", shared.browserErr)
	}
	return shared.browserCtx
}

func startBrowser() {
	dir, err := os.MkdirTemp("", "portcullis-chromium-profile-")
	if err != nil {
		shared.browserErr = err
		return
	}
	shared.profileDir = dir
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(dir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		// The server is on 127.0.0.1: never send it through a proxy the
		// environment may name.
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.WindowSize(1280, 900),
		// Chromium's own chatter (the Debian wrapper's warnings, GPU
		// notices) is not the tests' business.
		chromedp.CombinedOutput(io.Discard),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	shared.cancel = []context.CancelFunc{cancelBrowser, cancelAlloc}
	// Start the browser now. The first run must use browserCtx itself:
	// chromedp ties the browser's life to the context of its first run, so
	// a derived context with a deadline would stop the browser with it.
	if err := chromedp.Do(browserCtx); err != nil {
		shared.browserErr = err
		return
	}
	shared.browserCtx = browserCtx
}

// stop ends the browser and removes the shared files.
func (s *sharedState) stop() {
	for _, cancel := range s.cancel {
		cancel()
	}
	if s.profileDir != "" {
		os.RemoveAll(s.profileDir)
	}
	if s.seedDir != "" {
		os.RemoveAll(s.seedDir)
	}
}

// template returns the path of a SQLite file seeded with the demo world,
// seeding it on first use.
func template(t *testing.T) string {
	t.Helper()
	shared.seedOnce.Do(func() {
		shared.seedDir, shared.seedErr = os.MkdirTemp("", "portcullis-browsertest-seed-")
		if shared.seedErr != nil {
			return
		}
		shared.template = filepath.Join(shared.seedDir, "demo.db")
		shared.seedErr = seedTemplate(shared.template)
	})
	if shared.seedErr != nil {
		t.Fatalf("seed the demo world: %v", shared.seedErr)
	}
	return shared.template
}

func seedTemplate(path string) error {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, path, sqlstore.Options{Clock: clock})
	if err != nil {
		return err
	}
	f, err := follow.Start(ctx, st, follow.Options{Clock: clock})
	if err != nil {
		st.Close()
		return err
	}
	if _, err := demo.Seed(ctx, st, f.Engine(), now); err != nil {
		f.Close()
		st.Close()
		return err
	}
	f.Close()
	// Closing checkpoints the WAL into the file, so a copy of the file
	// alone is the whole database.
	return st.Close()
}

// copyDB copies the template database (and a WAL left behind, should the
// close not have folded it in) to dst.
func copyDB(src, dst string) error {
	for _, suffix := range []string{"", "-wal"} {
		in, err := os.Open(src + suffix)
		if errors.Is(err, os.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			return err
		}
		out, err := os.Create(dst + suffix)
		if err != nil {
			in.Close()
			return err
		}
		_, err = io.Copy(out, in)
		in.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("copy %s: %w", src+suffix, err)
		}
	}
	return nil
}
