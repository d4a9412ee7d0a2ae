package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// TestAuditVerify_ExpectHeadAndKey drives `audit verify` as an operator
// would: an anchor from the head, the newest entries deleted, a keyed
// chain verified with and without the key.
func TestAuditVerify_ExpectHeadAndKey(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "a.db")
	src := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(src, policy.DefaultYAML(), 0o600); err != nil {
		t.Fatal(err)
	}
	const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes, base64
	t.Setenv("PORTCULLIS_AUDIT_KEY", key)
	for range 2 {
		if out, err := runCLI(t, "policy", "apply", src, "--db", db); err != nil {
			t.Fatalf("apply: %v %s", err, out)
		}
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	head, err := st.AuditHead(ctx)
	st.Close()
	if err != nil || head.Entries == 0 {
		t.Fatalf("AuditHead = %+v, %v", head, err)
	}
	out, err := runCLI(t, "audit", "verify", "--db", db, "--expect-head", head.Head)
	if err != nil || !strings.Contains(out, "audit chain ok") || !strings.Contains(out, "keyed") {
		t.Fatalf("verify with the key and the anchor: %v %s", err, out)
	}
	if out, err := runCLI(t, "audit", "verify", "--db", db, "--audit-key", ""); err == nil || !strings.Contains(err.Error(), "audit key") {
		t.Fatalf("verify of a keyed chain without the key: %v %s; want a failure naming the key", err, out)
	}
	if out, err := runCLI(t, "audit", "verify", "--db", db, "--audit-key", "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE="); err == nil {
		t.Fatalf("verify with another key: ok %s", out)
	}
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if out, err := runCLI(t, "audit", "verify", "--db", db); err != nil {
		t.Fatalf("verify without the anchor after truncation: %v %s (still ok: the chain that remains is intact)", err, out)
	}
	if out, err := runCLI(t, "audit", "verify", "--db", db, "--expect-head", head.Head); err == nil || !strings.Contains(err.Error(), "expected head") {
		t.Fatalf("verify --expect-head after deleting the newest entry: %v %s; want a failure", err, out)
	}
}
