// Package mail builds Portcullis' messages; package send delivers them.
//
// Messages (invitation, password reset, password changed, email changed,
// two-step verification on or off, a new comment on a record) are rendered here as plain text and
// HTML in the recipient's locale (en, de, zh); package app writes them to
// the outbox (store.Write.Mail) in the transaction of the change that
// causes them. A send.Sender, one per node, claims due messages from the
// outbox, delivers them through an SMTP client (wneessen/go-mail) and
// retries with exponential backoff for 24 hours.
//
// A link that is a secret (an invitation or reset link) is never rendered
// into a stored body: builders receive store.SecretMarker in its place and
// the sender substitutes the secret only on the way out. Nothing here logs
// a secret.
package mail

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/store"
)

// Content is a rendered message.
type Content struct {
	Subject, Text, HTML string
	// doc is what it was rendered from, for Brand.Apply.
	doc *doc
}

// Brand is how messages present the supplier (--brand-name,
// --brand-color, the logo at the public URL). The zero Brand leaves
// messages as the builders render them: no heading, no closing line.
type Brand struct {
	// Name heads every message and signs it off; "" shows neither.
	Name string
	// Color is the heading's and the button's colour, #rrggbb; "" is the
	// default blue.
	Color string
	// LogoURL is the absolute address of the logo (PublicURL +
	// /brand/logo), shown before the name; "" shows the name only.
	LogoURL string
}

// Apply renders c again with the brand b: its name (and logo) at the
// top, its colour on the heading and the button, and a closing line
// naming it. A message not built here, or the zero Brand, leaves c as it
// is.
func (b Brand) Apply(c Content) Content {
	if c.doc == nil || b == (Brand{}) {
		return c
	}
	d := *c.doc
	d.Brand = b
	return d.render()
}

// Locales are the locales messages are written in; the first is the
// fallback.
var Locales = []string{"en", "de", "zh"}

// Locale returns the supported locale of a locale tag ("de-CH" → "de"),
// "en" for anything else.
func Locale(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	base, _, _ := strings.Cut(strings.ReplaceAll(tag, "_", "-"), "-")
	for _, l := range Locales {
		if base == l {
			return l
		}
	}
	return "en"
}

// texts are one locale's phrases. Format verbs are filled by the builders
// in the order their comments state.
type texts struct {
	hello, helloName string // helloName: name
	ignore           string
	// Invitation: inviter, company; then the expiry.
	invSubject, invIntro, invHow, invButton string
	// Reset.
	resetSubject, resetIntro, resetButton, resetIgnore string
	// Password changed: when.
	pwSubject, pwBody, notYou string
	// Email changed: old, new, when.
	emailSubject, emailBody string
	// Two-step verification on and off: when.
	mfaOnSubject, mfaOnBody, mfaOffSubject, mfaOffBody string
	linkHint                                           string
	// New comment: the record (subject and intro), the author (intro).
	commentSubject, commentIntro, commentButton string
	// Closing line: the brand's name.
	sentBy string
	// Access review assigned: the company (subject); who asks, the
	// company (intro); the number of entries, the due date (task). Reminder:
	// the company (subject); the company, the due date (intro); the
	// entries still open (open). onNoKeep, onNoRevoke: what happens to
	// unanswered entries.
	reviewSubject, reviewIntro, reviewTask, reviewButton string
	remindSubject, remindIntro, remindOpen               string
	reviewOnNoKeep, reviewOnNoRevoke                     string
}

var catalog = map[string]texts{
	"en": {
		hello: "Hello,", helloName: "Hello %s,",
		ignore:        "If you did not expect this invitation, you can ignore this message.",
		invSubject:    "Your invitation to the customer portal",
		invIntro:      "%s has invited you to the customer portal for %s.",
		invHow:        "Choose your password with the link below. The link works once and expires on %s.",
		invButton:     "Accept the invitation",
		resetSubject:  "Reset your password",
		resetIntro:    "Someone, hopefully you, asked to reset the password of your account. Choose a new password with the link below. It works once and expires in one hour.",
		resetButton:   "Choose a new password",
		resetIgnore:   "If you did not ask for this, ignore this message: your password stays as it is.",
		pwSubject:     "Your password was changed",
		pwBody:        "The password of your account was changed on %s. Every session of your account was signed out.",
		notYou:        "If this was not you, contact your administrator at once.",
		emailSubject:  "Your sign-in email was changed",
		emailBody:     "The email you sign in with was changed from %s to %s on %s. Messages now go to the new address.",
		mfaOnSubject:  "Two-step verification is on",
		mfaOnBody:     "Two-step verification was turned on for your account on %s.",
		mfaOffSubject: "Two-step verification is off",
		mfaOffBody:    "Two-step verification was turned off for your account on %s.",
		linkHint:      "Open this link in your browser:",

		commentSubject: "New comment on %s",
		commentIntro:   "%s wrote a comment on %s:",
		commentButton:  "Open the conversation",
		sentBy:         "This message comes from %s.",

		reviewSubject:    "Please review who has access to %s",
		reviewIntro:      "%s has asked you to confirm who at %s should keep access to the customer portal.",
		reviewTask:       "%d entries are waiting for your decision. For each person, choose Keep or Revoke by %s.",
		reviewButton:     "Open the access review",
		remindSubject:    "Reminder: the access review of %s is due soon",
		remindIntro:      "The access review of %s is due on %s.",
		remindOpen:       "%d entries are still waiting for your decision.",
		reviewOnNoKeep:   "Entries you do not answer keep their access when the review closes.",
		reviewOnNoRevoke: "Entries you do not answer lose their access when the review closes.",
	},
	"de": {
		hello: "Guten Tag,", helloName: "Guten Tag %s,",
		ignore:        "Wenn Sie diese Einladung nicht erwartet haben, können Sie diese Nachricht ignorieren.",
		invSubject:    "Ihre Einladung zum Kundenportal",
		invIntro:      "%s hat Sie in das Kundenportal für %s eingeladen.",
		invHow:        "Legen Sie über den folgenden Link Ihr Passwort fest. Der Link funktioniert einmal und läuft am %s ab.",
		invButton:     "Einladung annehmen",
		resetSubject:  "Passwort zurücksetzen",
		resetIntro:    "Jemand, hoffentlich Sie, hat angefordert, das Passwort Ihres Kontos zurückzusetzen. Wählen Sie über den folgenden Link ein neues Passwort. Der Link funktioniert einmal und ist eine Stunde lang gültig.",
		resetButton:   "Neues Passwort wählen",
		resetIgnore:   "Wenn Sie das nicht angefordert haben, ignorieren Sie diese Nachricht: Ihr Passwort bleibt unverändert.",
		pwSubject:     "Ihr Passwort wurde geändert",
		pwBody:        "Das Passwort Ihres Kontos wurde am %s geändert. Alle Sitzungen Ihres Kontos wurden abgemeldet.",
		notYou:        "Wenn Sie das nicht waren, wenden Sie sich bitte sofort an Ihren Administrator.",
		emailSubject:  "Ihre Anmelde-E-Mail-Adresse wurde geändert",
		emailBody:     "Die E-Mail-Adresse, mit der Sie sich anmelden, wurde von %s in %s geändert (am %s). Nachrichten gehen ab jetzt an die neue Adresse.",
		mfaOnSubject:  "Die Zwei-Faktor-Authentifizierung ist aktiviert",
		mfaOnBody:     "Für Ihr Konto wurde am %s die Zwei-Faktor-Authentifizierung aktiviert.",
		mfaOffSubject: "Die Zwei-Faktor-Authentifizierung ist deaktiviert",
		mfaOffBody:    "Für Ihr Konto wurde am %s die Zwei-Faktor-Authentifizierung deaktiviert.",
		linkHint:      "Öffnen Sie diesen Link in Ihrem Browser:",

		commentSubject: "Neuer Kommentar zu %s",
		commentIntro:   "%s hat einen Kommentar zu %s geschrieben:",
		commentButton:  "Unterhaltung öffnen",
		sentBy:         "Diese Nachricht kommt von %s.",

		reviewSubject:    "Bitte prüfen Sie, wer Zugriff auf %s hat",
		reviewIntro:      "%s bittet Sie zu bestätigen, wer bei %s weiterhin Zugriff auf das Kundenportal haben soll.",
		reviewTask:       "%d Einträge warten auf Ihre Entscheidung. Wählen Sie bitte bis %s für jede Person „Behalten“ oder „Entziehen“.",
		reviewButton:     "Zugriffsprüfung öffnen",
		remindSubject:    "Erinnerung: Die Zugriffsprüfung für %s ist bald fällig",
		remindIntro:      "Die Zugriffsprüfung für %s ist am %s fällig.",
		remindOpen:       "%d Einträge warten noch auf Ihre Entscheidung.",
		reviewOnNoKeep:   "Einträge, die Sie nicht beantworten, behalten ihren Zugriff, wenn die Prüfung abgeschlossen wird.",
		reviewOnNoRevoke: "Einträge, die Sie nicht beantworten, verlieren ihren Zugriff, wenn die Prüfung abgeschlossen wird.",
	},
	"zh": {
		hello: "您好：", helloName: "%s，您好：",
		ignore:        "如果您没有预料到这封邀请，可以忽略此邮件。",
		invSubject:    "您受邀使用客户门户",
		invIntro:      "%s 邀请您使用 %s 的客户门户。",
		invHow:        "请通过下面的链接设置您的密码。该链接只能使用一次，将于 %s 失效。",
		invButton:     "接受邀请",
		resetSubject:  "重置您的密码",
		resetIntro:    "有人（希望是您本人）请求重置您账户的密码。请通过下面的链接设置新密码。该链接只能使用一次，一小时内有效。",
		resetButton:   "设置新密码",
		resetIgnore:   "如果这不是您本人的请求，请忽略此邮件，您的密码不会改变。",
		pwSubject:     "您的密码已更改",
		pwBody:        "您账户的密码已于 %s 更改，您账户的所有会话均已退出登录。",
		notYou:        "如果这不是您本人的操作，请立即联系您的管理员。",
		emailSubject:  "您的登录邮箱已更改",
		emailBody:     "您用于登录的邮箱已从 %s 更改为 %s（%s）。今后的邮件将发送到新地址。",
		mfaOnSubject:  "两步验证已开启",
		mfaOnBody:     "您的账户已于 %s 开启两步验证。",
		mfaOffSubject: "两步验证已关闭",
		mfaOffBody:    "您的账户已于 %s 关闭两步验证。",
		linkHint:      "请在浏览器中打开此链接：",

		commentSubject: "%s 有新评论",
		commentIntro:   "%s 在 %s 上发表了评论：",
		commentButton:  "打开对话",
		sentBy:         "此邮件来自 %s。",

		reviewSubject:    "请审核谁可以访问 %s",
		reviewIntro:      "%s 请您确认 %s 的哪些人员应继续拥有客户门户的访问权限。",
		reviewTask:       "有 %d 条记录等待您的决定。请在 %s 之前为每个人选择“保留”或“撤销”。",
		reviewButton:     "打开访问审核",
		remindSubject:    "提醒：%s 的访问审核即将到期",
		remindIntro:      "%s 的访问审核将于 %s 到期。",
		remindOpen:       "仍有 %d 条记录等待您的决定。",
		reviewOnNoKeep:   "审核结束时，您未答复的记录将保留其访问权限。",
		reviewOnNoRevoke: "审核结束时，您未答复的记录将失去其访问权限。",
	},
}

func textsOf(locale string) texts { return catalog[Locale(locale)] }

// when formats an instant for a message: UTC, to the minute.
func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") + " UTC" }

// deadline formats a due moment: one at midnight UTC is the end of the
// day before, written as that day ("2026-12-15 (UTC)").
func deadline(t time.Time) string {
	if u := t.UTC(); u.Equal(u.Truncate(24 * time.Hour)) {
		return u.Add(-time.Hour).Format(time.DateOnly) + " (UTC)"
	}
	return when(t)
}

// doc is a message before rendering: a greeting, paragraphs, an optional
// button (label and link) and closing paragraphs.
type doc struct {
	Subject, Greeting string
	Lead              []string
	Button, Link      string
	LinkHint          string
	Tail              []string
	// Brand heads and signs the message (Brand.Apply); SentBy is the
	// closing line's format in the message's locale.
	Brand  Brand
	SentBy string
}

var htmlDoc = htmltemplate.Must(htmltemplate.New("mail").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1f2933; max-width: 36rem;">
{{with .Brand.Name}}<p style="font-size: 1.2em; font-weight: bold; color: {{if $.Brand.Color}}{{$.Brand.Color}}{{else}}#1f2933{{end}};">{{with $.Brand.LogoURL}}<img src="{{.}}" alt="" height="32" style="vertical-align: middle; margin-right: 0.5em;">{{end}}{{.}}</p>
{{end}}<p>{{.Greeting}}</p>
{{range .Lead}}<p>{{.}}</p>
{{end}}{{if .Link}}<p><a href="{{.Link}}" style="display: inline-block; padding: 0.6em 1.2em; background: {{if .Brand.Color}}{{.Brand.Color}}{{else}}#1d4ed8{{end}}; color: #ffffff; text-decoration: none; border-radius: 4px;">{{.Button}}</a></p>
<p style="font-size: 0.9em; color: #52606d;">{{.LinkHint}}<br>{{.Link}}</p>
{{end}}{{range .Tail}}<p>{{.}}</p>
{{end}}{{with .Brand.Name}}<p style="font-size: 0.9em; color: #52606d;">{{printf $.SentBy .}}</p>
{{end}}</body></html>
`))

// render turns a doc into plain text and HTML.
func (d doc) render() Content {
	var t strings.Builder
	if d.Brand.Name != "" {
		t.WriteString(d.Brand.Name + "\n\n")
	}
	t.WriteString(d.Greeting + "\n\n")
	for _, p := range d.Lead {
		t.WriteString(p + "\n\n")
	}
	if d.Link != "" {
		t.WriteString(d.Button + ":\n" + d.Link + "\n\n")
	}
	for _, p := range d.Tail {
		t.WriteString(p + "\n\n")
	}
	if d.Brand.Name != "" {
		t.WriteString("-- \n" + fmt.Sprintf(d.SentBy, d.Brand.Name) + "\n")
	}
	var h bytes.Buffer
	if err := htmlDoc.Execute(&h, d); err != nil {
		panic(fmt.Sprintf("mail: render: %v", err)) // a fixed template over strings cannot fail
	}
	return Content{Subject: d.Subject, Text: strings.TrimRight(t.String(), "\n") + "\n", HTML: h.String(), doc: &d}
}

func greeting(x texts, name string) string {
	if strings.TrimSpace(name) == "" {
		return x.hello
	}
	return fmt.Sprintf(x.helloName, name)
}

// InvitationData fills an invitation: the invitee's name, who invites
// (a name), the company (the home account's name), the accept link (pass
// store.SecretMarker, the link is a secret) and when it expires.
type InvitationData struct {
	Name, Inviter, Company, Link string
	Expires                      time.Time
}

// Invitation is the message that carries an invitation link.
func Invitation(locale string, d InvitationData) Content {
	x := textsOf(locale)
	return doc{SentBy: x.sentBy, Subject: x.invSubject, Greeting: greeting(x, d.Name),
		Lead:   []string{fmt.Sprintf(x.invIntro, d.Inviter, d.Company), fmt.Sprintf(x.invHow, when(d.Expires))},
		Button: x.invButton, Link: d.Link, LinkHint: x.linkHint, Tail: []string{x.ignore}}.render()
}

// ResetData fills a password reset message: the user's name and the reset
// link (pass store.SecretMarker).
type ResetData struct {
	Name, Link string
}

// PasswordReset is the message that carries a password reset link.
func PasswordReset(locale string, d ResetData) Content {
	x := textsOf(locale)
	return doc{SentBy: x.sentBy, Subject: x.resetSubject, Greeting: greeting(x, d.Name), Lead: []string{x.resetIntro},
		Button: x.resetButton, Link: d.Link, LinkHint: x.linkHint, Tail: []string{x.resetIgnore}}.render()
}

// NoticeData fills a notice about a change of the recipient's account:
// its name and when the change happened.
type NoticeData struct {
	Name string
	At   time.Time
}

// PasswordChanged tells a user that its password was changed.
func PasswordChanged(locale string, d NoticeData) Content {
	x := textsOf(locale)
	return doc{SentBy: x.sentBy, Subject: x.pwSubject, Greeting: greeting(x, d.Name), Lead: []string{fmt.Sprintf(x.pwBody, when(d.At))},
		Tail: []string{x.notYou}}.render()
}

// EmailChangeData fills the notice sent to the old address when a user's
// sign-in email changes.
type EmailChangeData struct {
	Name, OldEmail, NewEmail string
	At                       time.Time
}

// EmailChanged tells the old address that the sign-in email changed.
func EmailChanged(locale string, d EmailChangeData) Content {
	x := textsOf(locale)
	return doc{SentBy: x.sentBy, Subject: x.emailSubject, Greeting: greeting(x, d.Name),
		Lead: []string{fmt.Sprintf(x.emailBody, d.OldEmail, d.NewEmail, when(d.At))}, Tail: []string{x.notYou}}.render()
}

// MFAChanged tells a user that two-step verification was turned on (on
// true) or off.
func MFAChanged(locale string, on bool, d NoticeData) Content {
	x := textsOf(locale)
	subject, body := x.mfaOffSubject, x.mfaOffBody
	if on {
		subject, body = x.mfaOnSubject, x.mfaOnBody
	}
	return doc{SentBy: x.sentBy, Subject: subject, Greeting: greeting(x, d.Name), Lead: []string{fmt.Sprintf(body, when(d.At))},
		Tail: []string{x.notYou}}.render()
}

// CommentData fills the notice of a new comment: the recipient's name,
// the author as the recipient may see it (a name, the supplier or
// "another company": the caller masks it), the record as "<type title>
// <id>", the comment's text and the link to the record.
type CommentData struct {
	Name, Author, Record, Body, Link string
}

// NewComment tells a user that a record it takes part in has a new
// comment.
func NewComment(locale string, d CommentData) Content {
	x := textsOf(locale)
	return doc{SentBy: x.sentBy, Subject: fmt.Sprintf(x.commentSubject, d.Record), Greeting: greeting(x, d.Name),
		Lead:   []string{fmt.Sprintf(x.commentIntro, d.Author, d.Record), d.Body},
		Button: x.commentButton, Link: d.Link, LinkHint: x.linkHint}.render()
}

// ReviewData fills the messages of an access review: the reviewer's
// name, who asked for the review (a name), the company (the account's
// name), the entries (all of them when assigned, those still open in a
// reminder), the due instant, whether unanswered entries are revoked, and
// the link to the review.
type ReviewData struct {
	Name, Requester, Company, Link string
	Entries                        int
	Due                            time.Time
	RevokeUnanswered               bool
}

func (x texts) onNoAnswer(revoke bool) string {
	if revoke {
		return x.reviewOnNoRevoke
	}
	return x.reviewOnNoKeep
}

// ReviewAssigned tells a reviewer that an access review waits for it.
func ReviewAssigned(locale string, d ReviewData) Content {
	x := textsOf(locale)
	return doc{Subject: fmt.Sprintf(x.reviewSubject, d.Company), Greeting: greeting(x, d.Name),
		Lead:   []string{fmt.Sprintf(x.reviewIntro, d.Requester, d.Company), fmt.Sprintf(x.reviewTask, d.Entries, deadline(d.Due))},
		Button: x.reviewButton, Link: d.Link, LinkHint: x.linkHint, Tail: []string{x.onNoAnswer(d.RevokeUnanswered)}}.render()
}

// ReviewReminder reminds a reviewer, once, that its review is due soon.
func ReviewReminder(locale string, d ReviewData) Content {
	x := textsOf(locale)
	return doc{Subject: fmt.Sprintf(x.remindSubject, d.Company), Greeting: greeting(x, d.Name),
		Lead:   []string{fmt.Sprintf(x.remindIntro, d.Company, deadline(d.Due)), fmt.Sprintf(x.remindOpen, d.Entries)},
		Button: x.reviewButton, Link: d.Link, LinkHint: x.linkHint, Tail: []string{x.onNoAnswer(d.RevokeUnanswered)}}.render()
}

// Reveal puts secret in place of store.SecretMarker in body.
func Reveal(body, secret string) string {
	if secret == "" {
		return body
	}
	return strings.ReplaceAll(body, store.SecretMarker, secret)
}

// Redact shows body as it may be shown once its secret is gone.
func Redact(body string) string {
	return strings.ReplaceAll(body, store.SecretMarker, "[link removed]")
}
