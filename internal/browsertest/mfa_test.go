package browsertest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/portcullis-dev/portcullis/internal/demo"
)

// mfaCode is the TOTP code of secret at t, as an authenticator app shows
// it. The server's clock is fixed (now): its window is now ± 30 s.
func mfaCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// passwordStep signs in with the password and expects the second step.
func (b *tab) passwordStep(email string) {
	b.t.Helper()
	b.mustStatus("sign-in page", b.open("/login"), http.StatusOK)
	b.do("fill the sign-in form",
		chromedp.WaitVisible(heading("Sign in")),
		chromedp.SendKeys(field("Email"), email),
		chromedp.SendKeys(field("Password"), demo.Password),
	)
	b.mustStatus("password step", b.navigate("sign in as "+email, chromedp.Click(button("Sign in"))), http.StatusOK)
	b.do("wait for the second step", chromedp.WaitVisible(heading("Two-factor authentication")))
}

// Scenario: anna turns on two-factor authentication on her profile page
// (QR code, key, first code, recovery codes shown once), then signs in
// with a code and with a recovery code, which works only once.
func TestTOTPEnrolmentAndSignIn(t *testing.T) {
	e := newEnv(t)
	b := e.newTab("anna")
	b.signInDemo(annaL20)
	b.mustStatus("profile", b.open("/profile"), http.StatusOK)
	b.mustStatus("start enrolment", b.navigate("set up 2FA", chromedp.Click(button("Set up two-factor authentication"))), http.StatusOK)
	b.do("wait for the QR code", chromedp.WaitVisible(chromedp.JSPath(`document.getElementById('totp-qr')`)))
	if src := eval[string](b, `document.getElementById('totp-qr').getAttribute('src')`); !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Fatalf("the QR code is not a PNG data URL: %.60s", src)
	}
	if w := eval[float64](b, `document.getElementById('totp-qr').naturalWidth`); w == 0 {
		t.Fatal("the QR code image did not load (CSP?)")
	}
	secret := strings.TrimSpace(eval[string](b, `document.getElementById('totp-secret').textContent`))
	if len(secret) < 16 {
		t.Fatalf("key %q", secret)
	}
	// The first code comes from the step before the server's now, so the
	// code of now is still unused for the sign-in below.
	b.fill("Code", mfaCode(t, secret, now.Add(-30*time.Second)))
	b.mustStatus("confirm", b.navigate("turn on", chromedp.Click(button("Turn on"))), http.StatusOK)
	b.mustSee("Two-factor authentication is on", "recovery codes left")
	codes := eval[[]string](b, `[...document.querySelectorAll('#recovery-codes code')].map(c => c.textContent)`)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown: %v", len(codes), codes)
	}
	// Shown once: the profile page no longer lists them.
	b.mustStatus("profile again", b.open("/profile"), http.StatusOK)
	if strings.Contains(b.text(), codes[0]) {
		t.Fatal("the profile page shows a recovery code again")
	}

	// Sign in with a code.
	b2 := e.newTab("anna with a code")
	b2.passwordStep(annaL20)
	b2.fill("Code from your authenticator app", mfaCode(t, secret, now))
	b2.mustStatus("second step", b2.navigate("verify", chromedp.Click(button("Verify"))), http.StatusOK)
	if loc := b2.location(); loc != "/a/C-ACME/" {
		t.Fatalf("after the code anna is at %s: %s", loc, b2.text())
	}

	// The same code again is refused (replay), on the same page.
	b3 := e.newTab("anna replays")
	b3.passwordStep(annaL20)
	b3.fill("Code from your authenticator app", mfaCode(t, secret, now))
	b3.mustStatus("replayed code", b3.navigate("verify", chromedp.Click(button("Verify"))), http.StatusUnauthorized)
	b3.mustSee("this code was used already")

	// A recovery code works once.
	b4 := e.newTab("anna with a recovery code")
	b4.passwordStep(annaL20)
	b4.fill("Use a recovery code", codes[3])
	b4.mustStatus("recovery code", b4.navigate("use it", chromedp.Click(button("Use recovery code"))), http.StatusOK)
	if loc := b4.location(); loc != "/a/C-ACME/" {
		t.Fatalf("after the recovery code anna is at %s: %s", loc, b4.text())
	}
	b5 := e.newTab("anna reuses the recovery code")
	b5.passwordStep(annaL20)
	b5.fill("Use a recovery code", codes[3])
	b5.mustStatus("recovery code again", b5.navigate("use it again", chromedp.Click(button("Use recovery code"))), http.StatusUnauthorized)
	b5.mustSee("wrong recovery code")
	b5.do("still the second step", chromedp.WaitVisible(heading("Two-factor authentication")))
}
