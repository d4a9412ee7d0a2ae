package app_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// writableWorld is a customer C1 with external access, a ticket user u20
// (L20) and an order admin adm (L80), and an ERP ticket TK-1 dated
// 2026-01-05 that u20 may update.
func writableWorld(t *testing.T, a *app.App) (u20, adm *app.Actor) {
	t.Helper()
	ctx := context.Background()
	staff := app.SystemActor("test")
	if _, _, _, err := a.PutAccount(ctx, staff, "C1", app.AccountUpdate{Name: app.Some("Customer"), ExternalAccess: app.Some(true)}, true); err != nil {
		t.Fatal(err)
	}
	actor := func(id, role string) *app.Actor {
		if _, _, _, err := a.PutUser(ctx, staff, id, app.UserUpdate{Email: app.Some(id + "@example.com"), HomeAccount: app.Some("C1")}, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.CreateGrant(ctx, staff, app.GrantUpdate{Principal: app.Some("user:" + id), Account: app.Some("C1"), Role: app.Some(role)}); err != nil {
			t.Fatal(err)
		}
		return &app.Actor{User: must[access.User](t)(a.GetUser(ctx, staff, id))}
	}
	u20, adm = actor("u20", "L20"), actor("adm", "L80")
	if _, err := a.PutRecord(ctx, staff, "ticket", "TK-1", app.RecordUpdate{Owner: app.Some("C1"),
		Attributes: app.Some(map[string]any{"number": "TK-1", "title": "Broken", "status": "new", "created": "2026-01-05"})}); err != nil {
		t.Fatal(err)
	}
	return u20, adm
}

// TestRecords_TicketNumberAndDateReadOnly: a ticket user changes the
// writable fields of a ticket, never its number or its created date, so
// the record's date (what days_back compares) stays put (records.md §1).
func TestRecords_TicketNumberAndDateReadOnly(t *testing.T) {
	backends(t, func(t *testing.T, a *app.App, st store.Store) {
		ctx := context.Background()
		u20, _ := writableWorld(t, a)
		for _, patch := range []map[string]any{
			{"number": "TK-2"},
			{"created": "2020-01-01"},
			{"created": nil},
			{"title": "Fine", "created": "2026-06-01"},
		} {
			_, err := a.PatchRecord(ctx, u20, "ticket", "TK-1", app.RecordUpdate{Attributes: app.Some(patch)})
			if access.ErrorCode(err) != access.CodeInvalidField {
				t.Errorf("patch %v: %v, want invalid_field", patch, err)
			}
		}
		// Unchanged values sent back are no write: an edit form may carry them.
		if _, err := a.PatchRecord(ctx, u20, "ticket", "TK-1", app.RecordUpdate{Attributes: app.Some(map[string]any{
			"title": "Broken pump", "description": "drips", "number": "TK-1", "created": "2026-01-05"})}); err != nil {
			t.Fatal(err)
		}
		rec, err := st.GetRecord(ctx, "ticket", "TK-1")
		if err != nil {
			t.Fatal(err)
		}
		if rec.Date != "2026-01-05" || rec.Attributes["created"] != "2026-01-05" || rec.Attributes["number"] != "TK-1" || rec.Attributes["title"] != "Broken pump" {
			t.Fatalf("stored date %s, %v", rec.Date, rec.Attributes)
		}
	})
}

// TestRecords_ExternalCreate: an external create gets the next number as
// its id and number_field, today's date whatever the client says, and the
// type's defaults; prices, status and amounts are refused.
func TestRecords_ExternalCreate(t *testing.T) {
	backends(t, func(t *testing.T, a *app.App, st store.Store) {
		ctx := context.Background()
		u20, adm := writableWorld(t, a)
		today := a.Now().UTC().Format(time.DateOnly)
		for _, attrs := range []map[string]any{
			{"price": 0.01}, {"status": "invoiced"}, {"amount": 1.0}, {"number": "SO-1"}, {"order_date": "2020-01-01"},
			{"lines": []any{map[string]any{"sku": "A", "qty": 1.0, "price": 0.01}}},
		} {
			if _, err := a.CreateRecord(ctx, adm, "sales_order", app.RecordCreate{Attributes: attrs}); access.ErrorCode(err) != access.CodeInvalidField {
				t.Errorf("order %v: %v, want invalid_field", attrs, err)
			}
		}
		if _, err := a.CreateRecord(ctx, adm, "sales_order", app.RecordCreate{ID: "MINE"}); access.ErrorCode(err) != access.CodeForbidden {
			t.Errorf("order with an id: %v, want forbidden", err)
		}
		w, err := a.CreateRecord(ctx, adm, "sales_order", app.RecordCreate{Attributes: map[string]any{"po_number": "PO-1",
			"lines": []any{map[string]any{"sku": "A", "qty": 2.0}}}})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := st.GetRecord(ctx, "sales_order", w.Record.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.ID != "WEB-10001" || rec.Attributes["number"] != "WEB-10001" || rec.Attributes["status"] != "requested" ||
			rec.Attributes["order_date"] != today || rec.Date != today || rec.Owner != "C1" || rec.Attributes["customer"] != "C1" {
			t.Fatalf("stored %s: owner %s date %s %v", rec.ID, rec.Owner, rec.Date, rec.Attributes)
		}
		// A ticket: numbered from its own sequence, created today.
		tw, err := a.CreateRecord(ctx, u20, "ticket", app.RecordCreate{Attributes: map[string]any{"title": "Help", "site": "C1"}})
		if err != nil {
			t.Fatal(err)
		}
		if tw.Record.ID != "TK-10001" || tw.Record.Attributes["created"] != today || tw.Record.Date != today || tw.Record.Attributes["site"] != "C1" {
			t.Fatalf("ticket %+v", tw.Record)
		}
		if _, err := a.CreateRecord(ctx, u20, "ticket", app.RecordCreate{Attributes: map[string]any{"title": "x", "created": "2020-01-01"}}); access.ErrorCode(err) != access.CodeInvalidField {
			t.Errorf("ticket with a date: %v, want invalid_field", err)
		}
		// An id the ERP already used is skipped.
		if _, err := a.PutRecord(ctx, app.SystemActor("test"), "ticket", "TK-10002", app.RecordUpdate{Owner: app.Some("C1")}); err != nil {
			t.Fatal(err)
		}
		if tw, err = a.CreateRecord(ctx, u20, "ticket", app.RecordCreate{Attributes: map[string]any{"title": "Again"}}); err != nil || tw.Record.ID != "TK-10003" {
			t.Fatalf("next ticket %v: %v", tw.Record, err)
		}
	})
}

// TestRecords_NumberingConcurrent: concurrent external creates get
// sequential, unique numbers, with no gap.
func TestRecords_NumberingConcurrent(t *testing.T) {
	backends(t, func(t *testing.T, a *app.App, st store.Store) {
		ctx := context.Background()
		u20, _ := writableWorld(t, a)
		const n = 24
		ids := make([]string, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				w, err := a.CreateRecord(ctx, u20, "ticket", app.RecordCreate{Attributes: map[string]any{"title": fmt.Sprint("t", i)}})
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = w.Record.ID
			}()
		}
		close(start)
		wg.Wait()
		sort.Strings(ids)
		for i, id := range ids {
			if want := fmt.Sprintf("TK-%d", 10001+i); id != want {
				t.Fatalf("numbers %v: %d is %s, want %s", ids, i, id, want)
			}
			rec, err := st.GetRecord(ctx, "ticket", id)
			if err != nil || rec.Attributes["number"] != id {
				t.Fatalf("%s: %v %v", id, rec, err)
			}
		}
	})
}
