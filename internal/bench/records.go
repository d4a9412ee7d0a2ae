package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/worldgen"
)

// parentInfo is what a child record needs of an earlier order or invoice.
type parentInfo struct {
	index int32  // record index (its id)
	age   uint16 // days before the epoch
}

// OrderCount accumulates the sales orders one named user can see, as the
// generator writes them: orders in accounts without a cutoff, and per day
// the orders in accounts whose grant has days_back.
type OrderCount struct {
	reach    map[string]int // account → days_back (-1 none)
	Fixed    int            `json:"fixed"`
	ByDay    map[string]int `json:"by_day,omitempty"`
	DaysBack int            `json:"days_back,omitempty"`
}

func (c *OrderCount) add(acct, day string) bool {
	days, ok := c.reach[acct]
	if !ok {
		return false
	}
	if days < 0 {
		c.Fixed++
	} else {
		c.ByDay[day]++
		c.DaysBack = days
	}
	return true
}

// recordGen produces the records of a dataset in order, deterministically.
type recordGen struct {
	m    *worldgen.Model
	rng  *rand.Rand
	n, k int // records, key orders
	i    int // next record index
	days []string
	skus []string

	orders, invoices []parentInfo
	classes          map[string]*OrderCount
	sold             int // sales orders produced
}

func newRecordGen(m *worldgen.Model, seed uint64, classes map[string]*OrderCount) *recordGen {
	g := &recordGen{m: m, rng: rand.New(rand.NewPCG(seed, 0x7ec0_4d5)), n: m.Size.Records, k: m.Size.KeyOrders,
		classes: classes}
	g.days = worldgen.Days(m.Epoch)
	g.skus = worldgen.SKUs
	return g
}

func (g *recordGen) chance(p float64) bool { return g.rng.Float64() < p }

func (g *recordGen) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// owner draws the account an ordinary record is for: 60% sold-tos, 15%
// customers, 20% stores, 5% distributors.
func (g *recordGen) owner() string {
	switch x := g.rng.Float64(); {
	case x < 0.60:
		return g.pick(g.m.SoldTos)
	case x < 0.75:
		return g.pick(g.m.Customers)
	case x < 0.95:
		return g.pick(g.m.Stores)
	default:
		return g.pick(g.m.Distributors)
	}
}

func (g *recordGen) money() float64 { return float64(g.rng.IntN(1_000_000)) / 100 }

// next appends up to max records to out and returns it; it returns out
// unchanged when every record has been produced.
func (g *recordGen) next(out []*access.Record, max int) []*access.Record {
	for ; max > 0 && g.i < g.n; max-- {
		out = append(out, g.record())
		g.i++
	}
	return out
}

// isKey reports whether record i is one of the key account's orders: they
// are spread evenly over the sequence, exactly k of them.
func (g *recordGen) isKey(i int) bool {
	return (int64(i)+1)*int64(g.k)/int64(g.n) > int64(i)*int64(g.k)/int64(g.n)
}

// record produces record g.i: sales orders (3 lines with prices), shipments
// and payments under an earlier order or invoice (without an owner: they are
// reached through the sharing rules), invoices, inventory (half of it at
// customers' sites) and tickets opened by a user (dated by an instant). 2%
// of the top-level records are on behalf of their account (no owner, team
// entries) instead of owned by it.
func (g *recordGen) record() *access.Record {
	i := g.i
	age := g.rng.IntN(worldgen.HistoryDays)
	if g.isKey(i) {
		acct := g.pick(g.m.KeyTree)
		r := &access.Record{Type: "sales_order", ID: fmt.Sprintf("SO%08d", i), Owner: acct, Date: g.days[age]}
		r.Attributes = g.orderAttrs(r.ID, acct, r.Date)
		g.orders = append(g.orders, parentInfo{int32(i), uint16(age)})
		g.countOrder(acct, r.Date)
		return r
	}
	kind := worldgen.DrawKind(g.rng.Float64())
	typ := worldgen.RecordKinds[kind].Type
	if (typ == "shipment" && len(g.orders) == 0) || (typ == "payment" && len(g.invoices) == 0) {
		kind, typ = 0, "sales_order"
	}
	r := &access.Record{Type: typ, ID: fmt.Sprintf("%s%08d", worldgen.RecordKinds[kind].Prefix, i)}
	var by string
	switch typ {
	case "shipment", "payment":
		list, lag, ptype, pprefix := g.orders, 10, "sales_order", "SO"
		if typ == "payment" {
			list, lag, ptype, pprefix = g.invoices, 60, "invoice", "IN"
		}
		p := list[g.rng.IntN(len(list))]
		age = max(int(p.age)-g.rng.IntN(lag+1), 0)
		r.Parent = &access.Ref{Type: ptype, ID: fmt.Sprintf("%s%08d", pprefix, p.index)}
		r.Date = g.days[age]
		if typ == "shipment" {
			r.Attributes = map[string]any{"number": r.ID, "status": "shipped", "ship_date": r.Date,
				"carrier": worldgen.Carriers[g.rng.IntN(len(worldgen.Carriers))]}
		} else {
			r.Attributes = map[string]any{"number": r.ID, "payment_date": r.Date, "amount": g.money(), "method": "transfer"}
		}
		return r
	case "inventory":
		if g.chance(0.5) {
			by = g.pick(g.m.Sites)
		}
	}
	if by == "" {
		by = g.owner()
	}
	r.Date = g.days[age]
	onBehalf := g.chance(0.02)
	if onBehalf {
		r.Teams = []access.TeamEntry{{Principal: "account:" + by, Access: access.AccessRead}}
		if us := g.m.Homes[by]; len(us) > 0 && g.chance(0.5) {
			r.Teams = append(r.Teams, access.TeamEntry{Principal: "user:" + g.pick(us), Access: access.AccessReadWrite})
		}
	} else {
		r.Owner = by
	}
	// The owner_field attribute names the owner; records on behalf of an
	// account have none, so that a re-sync through the API keeps them
	// owner-less.
	customer := by
	if onBehalf {
		customer = ""
	}
	switch typ {
	case "sales_order":
		r.Attributes = g.orderAttrs(r.ID, customer, r.Date)
		if us := g.m.Homes[by]; len(us) > 0 && g.chance(0.10) {
			r.Creator = g.pick(us) // ordered in the portal
		}
		g.orders = append(g.orders, parentInfo{int32(i), uint16(age)})
		g.countOrder(by, r.Date)
	case "invoice":
		r.Attributes = map[string]any{"number": r.ID, "status": worldgen.InvoiceStatus[g.rng.IntN(len(worldgen.InvoiceStatus))],
			"invoice_date": r.Date, "due_date": g.days[max(age-30, 0)], "amount": g.money(), "currency": "EUR"}
		if customer != "" {
			r.Attributes["customer"] = customer
		}
		g.invoices = append(g.invoices, parentInfo{int32(i), uint16(age)})
	case "inventory":
		r.Attributes = map[string]any{"sku": g.pick(g.skus), "warehouse": "WH1", "quantity": float64(g.rng.IntN(1000)),
			"updated": r.Date}
	case "ticket":
		if us := g.m.Homes[by]; len(us) > 0 {
			r.Creator = g.pick(us)
		} else {
			r.Creator = g.m.Users[g.m.Ordinary[g.rng.IntN(len(g.m.Ordinary))]].ID
		}
		t := g.m.Epoch.AddDate(0, 0, -age).Add(-time.Duration(1+g.rng.IntN(86399)) * time.Second)
		r.Date = t.Format(time.RFC3339)
		r.Attributes = map[string]any{"number": r.ID, "title": "Ticket " + r.ID,
			"type": worldgen.TicketType[g.rng.IntN(len(worldgen.TicketType))], "status": worldgen.TicketStatus[g.rng.IntN(len(worldgen.TicketStatus))],
			"priority": "normal", "created": t.Format(time.DateOnly)}
	}
	return r
}

// orderAttrs are a sales order's attributes: three lines with their price
// fields, the restricted fields of the default policy.
func (g *recordGen) orderAttrs(id, customer, day string) map[string]any {
	lines := make([]any, 3)
	total := 0.0
	for j := range lines {
		p, d := g.money(), float64(g.rng.IntN(20))
		amount := float64(int64(p*(100-d)+0.5)) / 100
		total += amount
		lines[j] = map[string]any{"sku": g.pick(g.skus), "quantity": float64(1 + g.rng.IntN(50)),
			"price": p, "discount": d, "amount": amount}
	}
	total = float64(int64(total*100+0.5)) / 100
	a := map[string]any{"number": id, "status": worldgen.OrderStatus[g.rng.IntN(len(worldgen.OrderStatus))],
		"order_date": day, "price": total, "discount": 0.0, "amount": total, "currency": "EUR", "lines": lines}
	if customer != "" {
		a["customer"] = customer
	}
	return a
}

// countOrder counts a sales order for the named users that can see it.
func (g *recordGen) countOrder(acct, day string) {
	g.sold++
	for _, c := range g.classes {
		c.add(acct, day)
	}
}
