package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/demo"
	"github.com/portcullis-dev/portcullis/internal/server"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// env is one test's world: a server over its own copy of the demo database.
type env struct {
	t   *testing.T
	st  *sqlstore.Store
	eng *access.Engine
	srv *httptest.Server
}

// newEnv starts a server on a fresh copy of the seeded demo database.
func newEnv(t *testing.T) *env {
	t.Helper()
	browser(t) // skip (or fail under CI) before any work when there is no browser
	dst := filepath.Join(t.TempDir(), "portcullis.db")
	if err := copyDB(template(t), dst); err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(context.Background(), dst, sqlstore.Options{Clock: clock})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	f, err := follow.Start(context.Background(), st, follow.Options{Clock: clock})
	if err != nil {
		st.Close()
		t.Fatalf("follow: %v", err)
	}
	lw := &testLogWriter{t: t}
	logger := slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := server.New(st, f.Engine(), server.Config{Logger: logger, Version: "browsertest"})
	ts := httptest.NewServer(srv.Handler()) // 127.0.0.1
	t.Cleanup(func() {
		ts.Close()
		f.Close()
		st.Close()
		lw.stop()
	})
	return &env{t: t, st: st, eng: f.Engine(), srv: ts}
}

// testLogWriter sends the server's warnings and errors to the test log
// until the test ends.
type testLogWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Logf("server: %s", strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testLogWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// tab is a browser tab in a browser context of its own (its own cookies),
// bound to one test.
type tab struct {
	t    *testing.T
	env  *env
	ctx  context.Context // the test's deadline
	name string
}

// newTab opens a tab in a fresh browser context. Every tab of a test shares
// the test's deadline; when the test fails, the tab's page is saved as a
// full-page screenshot and as HTML.
func (e *env) newTab(name string) *tab {
	t := e.t
	t.Helper()
	tabCtx, cancelTab := chromedp.NewContext(browser(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancelTab)
	// Open the tab with tabCtx itself: chromedp ties a tab's life to the
	// context of its first run, and the tab must outlive the test's
	// deadline to take the failure screenshot.
	opened := make(chan error, 1)
	go func() { opened <- chromedp.Do(tabCtx) }()
	select {
	case err := <-opened:
		if err != nil {
			t.Fatalf("open a browser tab: %v", err)
		}
	case <-time.After(testTimeout):
		cancelTab()
		t.Fatalf("open a browser tab: no tab after %v", testTimeout)
	}
	ctx, cancel := context.WithTimeout(tabCtx, testTimeout)
	t.Cleanup(cancel)
	b := &tab{t: t, env: e, ctx: ctx, name: name}
	// Registered after cancelTab, so it runs before the tab closes.
	t.Cleanup(func() {
		if t.Failed() {
			b.saveArtifacts(tabCtx)
		}
	})
	return b
}

// artifactsDir is where failure screenshots go.
func artifactsDir() string {
	if d := os.Getenv("PORTCULLIS_ARTIFACTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "portcullis-artifacts")
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// saveArtifacts writes a full-page screenshot and the HTML of the tab's
// page, with a deadline of its own (the test's may be what ran out).
func (b *tab) saveArtifacts(tabCtx context.Context) {
	ctx, cancel := context.WithTimeout(tabCtx, 10*time.Second)
	defer cancel()
	dir := artifactsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("artifacts: %v", err)
		return
	}
	base := filepath.Join(dir, unsafeName.ReplaceAllString(b.t.Name()+"-"+b.name, "_")+"-"+time.Now().Format("20060102-150405"))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot of tab %s failed: %v", b.name, err)
	} else if err := os.WriteFile(base+".png", png, 0o644); err != nil {
		b.t.Logf("screenshot: %v", err)
	} else {
		b.t.Logf("screenshot of tab %s: %s", b.name, base+".png")
	}
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		b.t.Logf("tab %s was at %s", b.name, loc)
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err == nil {
		if err := os.WriteFile(base+".html", []byte(html), 0o644); err == nil {
			b.t.Logf("HTML of tab %s: %s", b.name, base+".html")
		}
	}
}

// do runs actions, failing the test on error.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("[%s] %s: %v", b.name, what, err)
	}
}

// open navigates to a path of the server and returns the document's
// HTTP status.
func (b *tab) open(path string) int {
	b.t.Helper()
	res, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.env.srv.URL+path))
	if err != nil {
		b.t.Fatalf("[%s] open %s: %v", b.name, path, err)
	}
	return int(res.Status)
}

// navigate runs actions that load a new page (a link click, a form
// submission) and waits until the new page has loaded; it returns the
// final document's HTTP status (after redirects).
func (b *tab) navigate(what string, actions ...chromedp.Action[chromedp.Void]) int {
	b.t.Helper()
	res, err := chromedp.RunResponse(b.ctx, actions...)
	if err != nil {
		b.t.Fatalf("[%s] %s: %v", b.name, what, err)
	}
	return statusOf(res)
}

func statusOf(res *network.Response) int {
	if res == nil {
		return 0
	}
	return int(res.Status)
}

// mustStatus fails unless status is want.
func (b *tab) mustStatus(what string, status, want int) {
	b.t.Helper()
	if status != want {
		b.t.Fatalf("[%s] %s: HTTP status %d, want %d (at %s)", b.name, what, status, want, b.location())
	}
}

// location is the tab's URL path and query.
func (b *tab) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	if err != nil {
		b.t.Fatalf("[%s] location: %v", b.name, err)
	}
	return loc
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("[%s] evaluate %.80s: %v", b.name, expr, err)
	}
	return v
}

// text is what the page shows: the body's rendered text.
func (b *tab) text() string { b.t.Helper(); return eval[string](b, `document.body.innerText`) }

// html is the page's whole markup, as the browser holds it.
func (b *tab) html() string {
	b.t.Helper()
	return eval[string](b, `document.documentElement.outerHTML`)
}

// ---------------------------------------------------------------------------
// Selectors: what a user sees.

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// xpath selects the first node an XPath expression finds; waits on it retry
// until the node exists.
func xpath(expr string) chromedp.JSPath {
	return chromedp.JSPath(`document.evaluate(` + jsString(expr) + `, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue`)
}

// xlit quotes s as an XPath 1.0 string literal.
func xlit(s string) string {
	if !strings.Contains(s, `'`) {
		return `'` + s + `'`
	}
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	parts := strings.Split(s, `'`)
	for i, p := range parts {
		parts[i] = `'` + p + `'`
	}
	return `concat(` + strings.Join(parts, `, "'", `) + `)`
}

// control is a JavaScript expression for the form control a <label> names
// within the element scope selects (a CSS selector; "" is the whole page):
// the first label whose whole text (whitespace normalized) is label; the
// control is the element the label's for attribute names. The expression is
// null when there is none.
func control(scope, label string) string {
	root := `document`
	if scope != "" {
		root = `document.querySelector(` + jsString(scope) + `)`
	}
	return `(() => {
		const norm = s => s.replace(/\s+/g, ' ').trim();
		const root = ` + root + `;
		if (!root) return null;
		const l = [...root.querySelectorAll('label')].find(l => norm(l.textContent) === ` + jsString(label) + `);
		return l && l.htmlFor ? document.getElementById(l.htmlFor) : null;
	})()`
}

// field is the form control a label names (see control).
func field(label string) chromedp.JSPath { return chromedp.JSPath(control("", label)) }

// link is the first link whose text is exactly text.
func link(text string) chromedp.JSPath {
	return xpath(`//a[normalize-space(.)=` + xlit(text) + `]`)
}

// navLink is the link of the main navigation with the given text.
func navLink(text string) chromedp.JSPath {
	return xpath(`//nav[@aria-label='Main']//a[normalize-space(.)=` + xlit(text) + `]`)
}

// button is the first button whose text is exactly text.
func button(text string) chromedp.JSPath {
	return xpath(`//button[normalize-space(.)=` + xlit(text) + `]`)
}

// heading is the first h1 whose text contains text.
func heading(text string) chromedp.JSPath {
	return xpath(`//h1[contains(normalize-space(.), ` + xlit(text) + `)]`)
}

// ---------------------------------------------------------------------------
// Actions a user takes.

// signIn signs in through the sign-in form and waits for the page it leads
// to, failing unless that page loaded (200) outside the sign-in page.
func (b *tab) signIn(email, password string) {
	b.t.Helper()
	b.mustStatus("sign-in page", b.open("/login"), http.StatusOK)
	b.do("fill the sign-in form",
		chromedp.WaitVisible(heading("Sign in")),
		chromedp.SendKeys(field("Email"), email),
		chromedp.SendKeys(field("Password"), password),
	)
	st := b.navigate("sign in as "+email, chromedp.Click(button("Sign in")))
	b.mustStatus("after signing in as "+email, st, http.StatusOK)
	if loc := b.location(); strings.HasPrefix(loc, "/login") {
		b.t.Fatalf("[%s] sign in as %s failed: still at %s: %s", b.name, email, loc, b.text())
	}
}

// signInDemo signs in a demo login with the demo password.
func (b *tab) signInDemo(email string) { b.t.Helper(); b.signIn(email, demo.Password) }

// fill types value into the field a label names, replacing what it held.
func (b *tab) fill(label, value string) {
	b.t.Helper()
	b.do("fill "+label,
		chromedp.WaitVisible(field(label)),
		chromedp.Clear(field(label)),
		chromedp.SendKeys(field(label), value),
	)
}

// choose picks the option with the given value in the <select> a label
// names; the option must be offered.
func (b *tab) choose(label, value string) {
	b.t.Helper()
	opts := b.options(label)
	found := false
	for _, o := range opts {
		found = found || o.Value == value
	}
	if !found {
		b.t.Fatalf("[%s] select %q offers no %q: %v", b.name, label, value, opts)
	}
	b.do("choose "+value+" in "+label, chromedp.SetValue(field(label), value))
}

// option is one choice of a <select>.
type option struct {
	Value    string `json:"value"`
	Label    string `json:"label"`
	Selected bool   `json:"selected"`
}

// options lists the choices of the <select> a label names; it fails the
// test when there is no such select.
func (b *tab) options(label string) []option {
	b.t.Helper()
	return b.optionsIn("", label)
}

// optionsIn is options within the elements scope selects.
func (b *tab) optionsIn(scope, label string) []option {
	b.t.Helper()
	opts := b.maybeOptionsIn(scope, label)
	if opts == nil {
		b.t.Fatalf("[%s] no select labelled %q on %s", b.name, label, b.location())
	}
	return *opts
}

// maybeOptionsIn is optionsIn, nil when there is no such select.
func (b *tab) maybeOptionsIn(scope, label string) *[]option {
	b.t.Helper()
	return eval[*[]option](b, `(() => {
		const s = `+control(scope, label)+`;
		if (!s || s.tagName !== 'SELECT') return null;
		return [...s.options].map(o => ({value: o.value, label: o.textContent.trim(), selected: o.selected}));
	})()`)
}

// values are the non-empty option values (the "(not set)" entry aside).
func values(opts []option) []string {
	out := []string{}
	for _, o := range opts {
		if o.Value != "" {
			out = append(out, o.Value)
		}
	}
	return out
}

// table is a rendered table: header texts and cell texts, row by row.
type table struct {
	Headers []string   `json:"headers"`
	Rows    [][]string `json:"rows"`
}

// col returns the index of the column with the given header, -1 if none.
func (tb table) col(header string) int {
	for i, h := range tb.Headers {
		if strings.EqualFold(h, header) {
			return i
		}
	}
	return -1
}

// mainTable reads the first table of the page's main region.
func (b *tab) mainTable() table {
	b.t.Helper()
	b.do("wait for the table", chromedp.WaitVisible(chromedp.CSS("main table")))
	return eval[table](b, `(() => {
		const t = document.querySelector('main table');
		const norm = s => s.replace(/\s+/g, ' ').trim();
		return {
			headers: [...t.querySelectorAll('thead th')].map(th => norm(th.textContent)),
			rows: [...t.querySelectorAll('tbody tr')].map(tr => [...tr.cells].map(c => norm(c.innerText))),
		};
	})()`)
}

// flash is the text of the page's message region (aria-live).
func (b *tab) flash() string {
	b.t.Helper()
	return eval[string](b, `(() => { const m = document.querySelector('[aria-live]'); return m ? m.innerText.trim() : ''; })()`)
}

// mustSee fails unless the page's text holds every string.
func (b *tab) mustSee(strs ...string) {
	b.t.Helper()
	txt := b.text()
	for _, s := range strs {
		if !strings.Contains(txt, s) {
			b.t.Fatalf("[%s] page %s does not show %q; it shows:\n%s", b.name, b.location(), s, txt)
		}
	}
}

// ---------------------------------------------------------------------------
// The store, as a test's source of truth.

// records lists the records a query selects, as staff see them (every
// record, every field).
func (e *env) records(q store.RecordQuery) []*access.Record {
	e.t.Helper()
	q.Predicate = &access.Predicate{Type: q.Type, All: true}
	if q.Limit == 0 {
		q.Limit = 50
	}
	recs, _, err := e.st.ListRecords(context.Background(), q)
	if err != nil {
		e.t.Fatalf("list %s: %v", q.Type, err)
	}
	return recs
}

// one returns the first record the query finds, failing when none.
func (e *env) one(what string, q store.RecordQuery) *access.Record {
	e.t.Helper()
	q.Limit = 1
	recs := e.records(q)
	if len(recs) == 0 {
		e.t.Fatalf("the demo world has no %s", what)
	}
	return recs[0]
}

// day formats the date n days before the test's today.
func day(n int) string { return now.AddDate(0, 0, -n).Format(time.DateOnly) }

// uniq is a suffix that makes test data unique across runs of a test.
func uniq() string { return fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000) }
