// Package send delivers Portcullis' outbox: an SMTP transport over
// wneessen/go-mail and a Sender, one per node, that claims due messages,
// delivers them and retries with exponential backoff for 24 hours. It
// never logs a message's secret.
package send

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/portcullis-dev/portcullis/internal/mail"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// SMTPConfig is where and how messages are delivered, parsed from an SMTP
// URL by ParseSMTPURL.
type SMTPConfig struct {
	Host string
	Port int
	// Username and Password authenticate (SMTP AUTH) when Username is set.
	Username, Password string
	// Security is "starttls" (required), "tls" (implicit, smtps) or "none"
	// (only for local test servers).
	Security string
}

// ParseSMTPURL parses --smtp-url: smtp://user:pass@host:587 (STARTTLS
// required; port 587 by default), smtps://user:pass@host:465 (implicit
// TLS; port 465 by default) or smtp://host:25?tls=none (no encryption:
// for local test servers only).
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, errors.New("--smtp-url is not a URL")
	}
	c := SMTPConfig{Host: u.Hostname()}
	if c.Host == "" {
		return SMTPConfig{}, errors.New("--smtp-url needs a host, like smtp://user:pass@mail.example.com:587")
	}
	switch u.Scheme {
	case "smtp":
		c.Security, c.Port = "starttls", 587
		switch u.Query().Get("tls") {
		case "", "starttls":
		case "none":
			c.Security, c.Port = "none", 25
		default:
			return SMTPConfig{}, errors.New("--smtp-url: tls must be starttls or none")
		}
	case "smtps":
		c.Security, c.Port = "tls", 465
	default:
		return SMTPConfig{}, errors.New("--smtp-url must start with smtp:// or smtps://")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return SMTPConfig{}, errors.New("--smtp-url has a bad port")
		}
		c.Port = n
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	return c, nil
}

// Redacted is the configuration as it may be logged: without the password.
func (c SMTPConfig) Redacted() string {
	s := c.Host + ":" + strconv.Itoa(c.Port) + " (" + c.Security + ")"
	if c.Username != "" {
		s = c.Username + "@" + s
	}
	return s
}

// Transport delivers one message; a returned error is worth a retry
// unless errors.Is(err, ErrPermanent).
type Transport interface {
	Send(ctx context.Context, m store.OutboxMessage) error
}

// ErrPermanent marks a delivery error no retry can fix (a recipient the
// server refuses for good).
var ErrPermanent = errors.New("permanent delivery failure")

// SMTP delivers messages through an SMTP server with go-mail.
type SMTP struct {
	cfg  SMTPConfig
	from string
}

// NewSMTP returns an SMTP transport that sends as from (--mail-from).
func NewSMTP(cfg SMTPConfig, from string) (*SMTP, error) {
	if strings.TrimSpace(from) == "" {
		return nil, errors.New("--mail-from is required with --smtp-url")
	}
	if err := gomail.NewMsg().From(from); err != nil {
		return nil, fmt.Errorf("--mail-from: %w", err)
	}
	return &SMTP{cfg: cfg, from: from}, nil
}

// client returns a go-mail client for one delivery.
func (s *SMTP) client() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(30 * time.Second)}
	switch s.cfg.Security {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	return gomail.NewClient(s.cfg.Host, opts...)
}

// Send delivers m, with its secret in place of store.SecretMarker.
func (s *SMTP) Send(ctx context.Context, m store.OutboxMessage) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("%w: recipient: %v", ErrPermanent, err)
	}
	msg.Subject(m.Subject)
	msg.SetGenHeader("X-Portcullis-Message", m.ID)
	text, html := mail.Reveal(m.Text, m.Secret), mail.Reveal(m.HTML, m.Secret)
	msg.SetBodyString(gomail.TypeTextPlain, text)
	msg.AddAlternativeString(gomail.TypeTextHTML, html)
	c, err := s.client()
	if err != nil {
		return err
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && !se.IsTemp() && se.Reason == gomail.ErrSMTPRcptTo {
			return fmt.Errorf("%w: %v", ErrPermanent, err)
		}
		return err
	}
	return nil
}
