package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/mail/send"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// mailFlags are the flags of outgoing mail (identity.md §1).
type mailFlags struct {
	publicURL, smtpURL, from *string
}

func defineMailFlags(fs *flag.FlagSet) mailFlags {
	return mailFlags{
		publicURL: stringFlag(fs, "public-url", "", "the public base URL: of every link in a message (required with --smtp-url) and of the AuthZEN metadata, e.g. https://access.example.com"),
		smtpURL:   stringFlag(fs, "smtp-url", "", "deliver mail through this server: smtp://user:pass@host:587 (STARTTLS required), smtps://user:pass@host:465, or smtp://host:25?tls=none for a local test server; unset, mail stays in the Outbox as not_sent"),
		from:      stringFlag(fs, "mail-from", "", `the From of every message, e.g. "Acme Portal <portal@acme.example>"`),
	}
}

// setup checks the flags and returns the app's mail configuration and,
// when SMTP is configured, a sender that is not yet started. addr is the
// listen address, the links' base when there is no public URL.
func (f mailFlags) setup(outbox store.OutboxStore, addr string, log *slog.Logger) (app.MailConfig, *send.Sender, error) {
	cfg := app.MailConfig{PublicURL: strings.TrimRight(*f.publicURL, "/")}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return cfg, nil, usageError{"--public-url must be an absolute http(s) URL, like https://access.example.com"}
		}
	}
	if *f.smtpURL == "" {
		if cfg.PublicURL == "" {
			cfg.PublicURL = "http://" + addr
		}
		return cfg, nil, nil
	}
	if cfg.PublicURL == "" {
		return cfg, nil, usageError{"--smtp-url needs --public-url: the links in messages must point at this server's public address"}
	}
	sc, err := send.ParseSMTPURL(*f.smtpURL)
	if err != nil {
		return cfg, nil, usageError{err.Error()}
	}
	tr, err := send.NewSMTP(sc, *f.from)
	if err != nil {
		return cfg, nil, usageError{err.Error()}
	}
	s := send.NewSender(send.SenderConfig{Outbox: outbox, Transport: tr, Logger: log})
	cfg.Delivery, cfg.Kick = true, s.Kick
	log.Info("mail: delivering through SMTP", "server", sc.Redacted())
	return cfg, s, nil
}

// outboxNote is what the demo's login table says about mail.
func outboxNote(url string, delivering bool) string {
	if delivering {
		return ""
	}
	return fmt.Sprintf("Mail is not sent (no --smtp-url): invitations and reset links wait in the Outbox,\n%s/admin/outbox (sign in as an admin), and at GET /api/v1/outbox; one invitation\n(new.colleague@acme.example) is there to follow.\n", url)
}

// demoInvitation invites one new Acme user in a fresh demo, so the Outbox
// holds a message whose link can be followed.
func demoInvitation(ctx context.Context, a *app.App) error {
	_, _, err := a.Invite(ctx, app.SystemActor("demo"), app.InvitationRequest{Email: "new.colleague@acme.example",
		Name: "New Colleague", HomeAccount: "C-ACME", Grants: []app.InvitationGrant{{Account: "C-ACME", Role: "L20"}}})
	return err
}
