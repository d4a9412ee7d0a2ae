package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// auditHeadEvery is how often serve logs the audit head.
const auditHeadEvery = time.Hour

// auditKeyFlag defines --audit-key (PORTCULLIS_AUDIT_KEY).
func auditKeyFlag(fs *flag.FlagSet) *string {
	return stringFlag(fs, "audit-key", "", "32-byte key (64 hex digits or base64) that chains audit entries with HMAC-SHA256; keep it outside the database; verify needs it")
}

// parseAuditKey decodes --audit-key; empty is no key.
func parseAuditKey(s string) ([]byte, error) {
	k, err := auth.ParseSecretBoxKey(s)
	if err != nil {
		return nil, errors.New("--audit-key must be 32 bytes as 64 hex digits or base64 (e.g. openssl rand -base64 32)")
	}
	return k, nil
}

// auditVerifyCmd is `portcullis audit verify`: it walks the chain and, with
// --expect-head, fails unless the chain holds that head (an anchor logged
// by serve or read from GET /api/v1/audit/head earlier).
func auditVerifyCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := dbFlags("audit verify")
	expect := fs.String("expect-head", "", "fail unless an entry of the chain has this hash (an anchor taken earlier): detects a deleted or rewritten tail")
	key := auditKeyFlag(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	k, err := parseAuditKey(*key)
	if err != nil {
		return usageError{err.Error()}
	}
	st, err := sqlstore.Open(ctx, *db, sqlstore.Options{AuditKey: k})
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.VerifyAudit(ctx, *expect)
	if err != nil {
		return err
	}
	if !v.OK {
		if v.FirstBad != 0 {
			return fmt.Errorf("audit chain broken at entry %d (of %d): %s", v.FirstBad, v.Entries, v.Problem)
		}
		return fmt.Errorf("audit chain does not verify (%d entries): %s", v.Entries, v.Problem)
	}
	fmt.Fprintf(stdout, "audit chain ok: %d entries (%d keyed), head %s\n", v.Entries, v.Keyed, v.Head)
	return nil
}

// headLogger logs the audit head every auditHeadEvery and once more when
// stopped, so that the log (kept apart from the database) holds anchors
// for `audit verify --expect-head`. serve owns it and stops it before the
// store closes.
type headLogger struct {
	stop chan struct{}
	done chan struct{}
}

// startHeadLogger starts logging st's audit head to log every every.
func startHeadLogger(st store.AuditStore, log *slog.Logger, every time.Duration) *headLogger {
	h := &headLogger{stop: make(chan struct{}), done: make(chan struct{})}
	logHead := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		head, err := st.AuditHead(ctx)
		if err != nil {
			log.Error("audit head", "err", err)
			return
		}
		log.Info("audit head", "entries", head.Entries, "head", head.Head)
	}
	go func() {
		defer close(h.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				logHead()
			case <-h.stop:
				logHead()
				return
			}
		}
	}()
	return h
}

// Stop logs the head a last time and waits for the goroutine to end.
func (h *headLogger) Stop() {
	close(h.stop)
	<-h.done
}
