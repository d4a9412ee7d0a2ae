package server_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	pc "github.com/portcullis-dev/portcullis/client"
)

// TestClient_EndToEnd drives the real server through the public Go client
// on both databases: sessions and tokens, record reads and writes, batch
// errors, checks, explain, viewers and the as_user list.
func TestClient_EndToEnd(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		admin := pc.New(env.srv.URL, pc.WithToken(env.token))

		// Sessions and tokens.
		sess := pc.New(env.srv.URL)
		if u, err := sess.Login(ctx, "admin@example.com", password); err != nil || u.ID != "admin" {
			t.Fatalf("login: %+v %v", u, err)
		}
		tok, secret, err := sess.CreateToken(ctx, "", "e2e")
		if err != nil || secret == "" {
			t.Fatalf("create token: %v", err)
		}
		if toks, err := sess.ListTokens(ctx, ""); err != nil || !slices.ContainsFunc(toks, func(x pc.Token) bool { return x.ID == tok.ID }) {
			t.Errorf("list tokens: %v %v", toks, err)
		}
		viaToken := pc.New(env.srv.URL, pc.WithToken(secret))
		if _, err := viaToken.GetRecord(ctx, "sales_order", "SO1", pc.GetOptions{}); err != nil {
			t.Errorf("read with the new token: %v", err)
		}
		if err := sess.DeleteToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := viaToken.GetRecord(ctx, "sales_order", "SO1", pc.GetOptions{}); !pc.IsCode(err, pc.CodeUnauthenticated) {
			t.Errorf("revoked token: %v", err)
		}
		if err := sess.Logout(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := sess.ListTokens(ctx, ""); !pc.IsCode(err, pc.CodeUnauthenticated) {
			t.Errorf("after logout: %v", err)
		}

		// Writes, then reads at the write's revision.
		var batch []pc.Record
		for i := range 130 {
			batch = append(batch, pc.Record{Type: "sales_order", ID: fmt.Sprintf("E2E%03d", i), Owner: "C1", Date: "2025-06-01",
				Attributes: map[string]any{"number": fmt.Sprint(i), "status": "open", "price": float64(i)}})
		}
		res, err := admin.Batch(ctx, batch, []pc.Ref{{Type: "sales_order", ID: "NOPE"}})
		if err != nil || res.Upserted != 130 {
			t.Fatalf("batch: %+v %v", res, err)
		}
		bad := []pc.Record{{Type: "sales_order", ID: "OK1", Owner: "C1"}, {Type: "sales_order", ID: "BAD", Owner: "NO-SUCH"}}
		_, err = admin.Batch(ctx, bad, nil)
		var e *pc.Error
		if !errors.As(err, &e) || e.Code != pc.CodeInvalid || len(e.Items) != 1 || e.Items[0].Index != 1 {
			t.Errorf("bad batch: %#v", err)
		}
		var ids []string
		for rec, err := range admin.Records(ctx, "sales_order", pc.ListOptions{AsUser: "u20", Sort: "id", Limit: 40, MinRevision: res.Revision,
			Attrs: map[string][]string{"status": {"open"}}}) {
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := rec.Attributes["price"]; ok {
				t.Fatalf("u20 sees a price: %v", rec)
			}
			ids = append(ids, rec.ID)
		}
		if len(ids) != 131 || !slices.IsSorted(ids) { // SO1 is open too
			t.Errorf("as_user list: %d ids %v", len(ids), ids[:min(5, len(ids))])
		}
		for _, err := range admin.Records(ctx, "sales_order", pc.ListOptions{AsUser: "u20", Attrs: map[string][]string{"price": {"1"}}}) {
			if !pc.IsCode(err, pc.CodeInvalidField) {
				t.Errorf("filter on a hidden field: %v", err)
			}
		}
		put, err := admin.PutRecord(ctx, pc.Record{Type: "ticket", ID: "T9", Owner: "C1", Attributes: map[string]any{"title": "Hi", "type": "incident", "status": "new"}})
		if err != nil || put.ID != "T9" {
			t.Fatalf("put: %v %v", put, err)
		}
		u10 := pc.New(env.srv.URL)
		if _, err := u10.Login(ctx, "u10@example.com", password); err != nil {
			t.Fatal(err)
		}
		created, rev, err := u10.CreateRecord(ctx, pc.Record{Type: "ticket", Owner: "C1", Attributes: map[string]any{"title": "Mine", "type": "incident", "status": "new"}})
		if err != nil || created.ID == "" || created.Creator != "u10" || rev == 0 {
			t.Fatalf("create: %+v %d %v", created, rev, err)
		}
		patched, err := u10.PatchRecord(ctx, "ticket", created.ID, map[string]any{"attributes": map[string]any{"title": "Mine, edited"}})
		if err != nil || patched.Attributes["title"] != "Mine, edited" {
			t.Errorf("patch: %v %v", patched, err)
		}
		if _, err := u10.GetRecord(ctx, "sales_order", "SO1", pc.GetOptions{}); !pc.IsCode(err, pc.CodeNotFound) {
			t.Errorf("u10 reads a sales order: %v", err)
		}
		if _, err := u10.DeleteRecord(ctx, "ticket", created.ID); !pc.IsCode(err, pc.CodeForbidden) && !pc.IsCode(err, pc.CodeNotFound) {
			t.Errorf("u10 deletes: %v", err)
		}
		if _, err := admin.DeleteRecord(ctx, "ticket", "T9"); err != nil {
			t.Error(err)
		}

		// Decisions.
		chk, err := admin.Check(ctx, pc.CheckRequest{User: "u30", Action: "read", Type: "sales_order", ID: "SO1"})
		if err != nil || !chk.Allowed || !slices.Contains(chk.Fields, "price") {
			t.Errorf("check: %+v %v", chk, err)
		}
		results, err := admin.CheckBatch(ctx, []pc.CheckRequest{
			{User: "u20", Action: "read", Type: "sales_order", ID: "SO1"},
			{User: "other", Action: "read", Type: "sales_order", ID: "SO1"},
		}, res.Revision)
		if err != nil || len(results) != 2 || !results[0].Allowed || results[1].Allowed {
			t.Errorf("check:batch: %+v %v", results, err)
		}
		x, err := admin.Explain(ctx, "other", "read", "sales_order", "SO1")
		if err != nil || x.Allowed || len(x.Reasons) == 0 {
			t.Errorf("explain: %+v %v", x, err)
		}
		vs, err := admin.Viewers(ctx, "sales_order", "SO1")
		if err != nil || !slices.ContainsFunc(vs, func(v pc.Viewer) bool { return v.User == "u20" }) || slices.ContainsFunc(vs, func(v pc.Viewer) bool { return v.User == "other" }) {
			t.Errorf("viewers: %+v %v", vs, err)
		}
		if _, err := u10.Check(ctx, pc.CheckRequest{User: "u20", Action: "read", Type: "sales_order", ID: "SO1"}); !pc.IsCode(err, pc.CodeForbidden) {
			t.Errorf("check as an external user: %v", err)
		}
	})
}
