package app

import (
	"context"
	"slices"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// HomeNewest is how many of a type's newest records the portal home shows.
const HomeNewest = 5

// homeParallel is how many of the home's queries run at once.
const homeParallel = 4

// Home is the portal home of one account (portal.md §3), as the subject
// sees it.
type Home struct {
	// Types are the object types the subject reads on the account, in
	// policy order, each with its count and newest records.
	Types []HomeType
	// OpenTickets counts the open tickets (those whose status is not done,
	// see doneStatuses); nil when the subject reads no tickets there or
	// the ticket type has no status values.
	OpenTickets *RecordCount
	// OpenInvoices and OverdueInvoices are the open invoices and those of
	// them due before today, with their totals; nil unless the subject
	// has a billing role there: it reads invoices and may filter on their
	// amount (every role context of it grants the field).
	OpenInvoices, OverdueInvoices *InvoiceTotals
	// OverdueUntil is the last due date (YYYY-MM-DD) OverdueInvoices
	// counts: yesterday, in UTC.
	OverdueUntil string
}

// HomeType is one type on the portal home.
type HomeType struct {
	Type   *policy.Type
	Count  RecordCount
	Newest []*access.Record
}

// InvoiceTotals counts invoices and totals their amount per currency.
type InvoiceTotals struct {
	Count RecordCount
	// Totals are per currency, by currency code; the empty code when
	// neither the invoice nor its type names one. They are exact only
	// when Count.More is unset (else they total the first CountMax+1).
	Totals []MoneyTotal
}

// MoneyTotal is an amount in a currency.
type MoneyTotal struct {
	Currency string
	Amount   float64
}

// doneStatuses are status values that close a ticket or an invoice: the
// others are open. The policy declares values, not their meaning; these
// are the default policy's (and the ERPs') words for done.
var doneStatuses = []string{"resolved", "closed", "cancelled", "canceled", "paid", "done", "rejected"}

// PortalHome builds the home of account acct for the subject (the actor,
// or asUser for staff: view as): for every type the subject reads there,
// its count within acct's subtree (exact up to CountMax) and its
// HomeNewest newest records; open tickets; and for a billing role open
// and overdue invoices with their totals. Every figure is one query
// through the subject's list predicate (ListRecords, CountRecords), so
// the home never counts what the lists would not show. Errors:
// CodeNotFound for an account the subject does not reach, others as
// ListRecords.
func (a *App) PortalHome(ctx context.Context, c *Actor, asUser, acct string) (Home, error) {
	subj, err := a.lookupSubject(c, asUser)
	if err != nil {
		return Home{}, err
	}
	var aa *access.AccountAccess
	for _, r := range a.eng.Reach(subj.ID) {
		if r.ID == acct {
			aa = &r
			break
		}
	}
	if aa == nil {
		return Home{}, access.Errorf(access.CodeNotFound, "no such account")
	}
	pol := a.eng.Policy()
	h := Home{OverdueUntil: a.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)}
	list := func(typ string) RecordList { return RecordList{Type: typ, AsUser: asUser, Within: acct} }
	for _, t := range pol.Types() {
		if slices.Contains(aa.Types[t.Name], policy.ActionRead) {
			h.Types = append(h.Types, HomeType{Type: t})
		}
	}
	// The figures are independent queries: run them side by side, a few
	// at a time (SQLite's read pool has four connections).
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(homeParallel)
	for i := range h.Types {
		ht := &h.Types[i]
		t := ht.Type
		g.Go(func() error {
			l := list(t.Name)
			l.Limit = HomeNewest
			page, err := a.ListRecords(gctx, c, l)
			if err != nil {
				return err
			}
			ht.Newest = page.Items
			if page.Next == "" {
				// All of them are on the page: no count query needed.
				ht.Count = RecordCount{N: len(page.Items)}
				return nil
			}
			ht.Count, err = a.CountRecords(gctx, c, list(t.Name))
			return err
		})
		switch t.Name {
		case "ticket":
			// Only on fields the user may filter on: a figure of a hidden
			// status would fail (invalid_field) or tell what it hides.
			if open := OpenStatuses(t); open != nil && a.usableField(subj, t.Name, "status") {
				g.Go(func() error {
					l := list(t.Name)
					l.Attrs = map[string][]string{"status": open}
					n, err := a.CountRecords(gctx, c, l)
					h.OpenTickets = &n
					return err
				})
			}
		case "invoice":
			g.Go(func() error {
				var err error
				h.OpenInvoices, h.OverdueInvoices, err = a.invoiceTotals(gctx, c, subj, t, list(t.Name), h.OverdueUntil)
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return Home{}, err
	}
	return h, nil
}

// usableField reports whether the subject may filter on (so count and sum
// by) field of type typ in every role context it has: ExportFields.
func (a *App) usableField(subj access.User, typ, field string) bool {
	return slices.ContainsFunc(a.ExportFields(subj, typ), func(f policy.Field) bool { return f.Name == field })
}

// invoiceTotals counts and totals the open invoices of l and those due
// until the day until, when the subject may filter on their amount (a billing
// role; nil otherwise) and the type declares the status values.
func (a *App) invoiceTotals(ctx context.Context, c *Actor, subj access.User, t *policy.Type, l RecordList, until string) (open, overdue *InvoiceTotals, err error) {
	usable := func(field string) bool { return a.usableField(subj, t.Name, field) }
	amount, ok := t.Fields["amount"]
	if !ok || amount.Type != policy.FieldNumber || !usable("amount") || !usable("status") {
		return nil, nil, nil
	}
	statuses := OpenStatuses(t)
	if statuses == nil {
		return nil, nil, nil
	}
	l.Attrs = map[string][]string{"status": statuses}
	// Totals per currency only when the user sees the currency field; else
	// all in the type's currency.
	groupBy := ""
	if usable(t.CurrencyField) {
		groupBy = t.CurrencyField
	}
	total := func(l RecordList) (*InvoiceTotals, error) {
		tot, err := a.countRecords(ctx, c, l, store.RecordCount{Max: CountMax + 1, Sum: "amount", GroupBy: groupBy})
		if err != nil {
			return nil, err
		}
		out := &InvoiceTotals{Count: RecordCount{N: min(tot.N, CountMax), More: tot.N > CountMax}}
		for cur, sum := range tot.Sums {
			if cur == "" {
				cur = t.Currency
			}
			out.Totals = append(out.Totals, MoneyTotal{Currency: cur, Amount: sum})
		}
		sort.Slice(out.Totals, func(i, j int) bool { return out.Totals[i].Currency < out.Totals[j].Currency })
		return out, nil
	}
	if open, err = total(l); err != nil {
		return nil, nil, err
	}
	if due, ok := t.Fields["due_date"]; ok && due.Type == policy.FieldDate && usable("due_date") {
		l.Ranges = map[string]TextRange{"due_date": {To: until}}
		if overdue, err = total(l); err != nil {
			return nil, nil, err
		}
	}
	return open, overdue, nil
}

// OpenStatuses are the values of t's status field that are not done
// (doneStatuses); nil when the field declares no values (or t is nil).
func OpenStatuses(t *policy.Type) []string {
	if t == nil {
		return nil
	}
	f, ok := t.Fields["status"]
	if !ok || len(f.Values) == 0 {
		return nil
	}
	var out []string
	for _, v := range f.Values {
		if !slices.Contains(doneStatuses, v) {
			out = append(out, v)
		}
	}
	return out
}
