// Package browsertest holds Portcullis' browser tests: the customer portal
// and the admin console driven in headless Chromium through chromedp
// against a real server on a real database (issue 5, item 4). The package
// has no code of its own; everything is in its _test.go files.
//
// How the tests run:
//
//   - The browser is the system Chromium, /usr/bin/chromium (Debian's
//     chromium package), started once per test binary by the first test
//     that needs it, headless, with a throwaway profile directory, and
//     stopped by TestMain. When it is missing the tests skip, except under
//     CI=true, where they fail: a missing browser must not pass CI.
//   - Every test gets its own server (server.New over a sqlstore on a temp
//     SQLite file holding the demo world of demo.Seed, served by httptest
//     on 127.0.0.1) and its own browser context, so cookies never leak
//     from one test into another. The demo world is seeded once per test
//     binary into a template file that each test copies: seeding is the
//     slow part, and every test must start from the same world.
//   - Every test has a deadline (testTimeout). When a test fails, a
//     full-page screenshot and the page's HTML are saved to the artifacts
//     directory ($PORTCULLIS_ARTIFACTS, or portcullis-artifacts in the
//     system temp directory) and their paths are logged.
//   - Selectors follow what a user sees: a field is found by the text of
//     its <label> (and the label's for attribute), a link or a button by
//     its text, a region by its heading or ARIA label. Waits are for
//     elements and page loads, never fixed sleeps.
//
// Run them with `go test ./internal/browsertest/ -v`.
package browsertest
