package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestProperty_MasksEveryOutput is the end-to-end property of masks
// (records.md §5, issue #12): for sales orders of random shapes (the
// restricted price, discount and amount as scalars, objects, arrays and
// nested arrays; lines as an array, a lone object, nested arrays, with
// restricted values at every depth), no restricted value ever appears in
// what u20 (L20: orders without prices) gets: the API's list and record
// JSON, the CSV and NDJSON downloads, the portal's list and record pages,
// view as, and as_user reads. The staff view of the same records shows
// them, so the markers are really there. SQLite only: the masks are the
// engine's, the storage suite covers both databases.
func TestProperty_MasksEveryOutput(t *testing.T) {
	env := newEnv(t, t.TempDir()+"/test.db")
	tok := env.bearer()
	u20 := env.as("u20")
	portal := env.browse("u20")
	admin := env.browse("admin") // view as
	today := time.Now().UTC().Format(time.DateOnly)
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		g := &maskGen{t: rt, prefix: fmt.Sprintf("Z%dQ", n)}
		count := rapid.IntRange(1, 3).Draw(rt, "records")
		var ups, dels []any
		var ids []string
		for i := range count {
			id := fmt.Sprintf("PM%d-%d", n, i)
			ids = append(ids, id)
			attrs := map[string]any{"number": id, "status": "open", "customer": "C1", "note": g.neutral()}
			for _, top := range []string{"price", "discount", "amount"} {
				if rapid.Bool().Draw(rt, top+" present") {
					attrs[top] = g.value(0, true)
				}
			}
			if rapid.IntRange(0, 5).Draw(rt, "lines present") > 0 {
				attrs["lines"] = g.lines(0)
			}
			ups = append(ups, map[string]any{"type": "sales_order", "id": id, "owner": "C1", "date": today, "attributes": attrs})
			dels = append(dels, map[string]any{"type": "sales_order", "id": id})
		}
		if res := tok.do("POST", "/api/v1/records:batch", map[string]any{"upsert": ups}); res.status != http.StatusOK {
			rt.Fatalf("batch: %d %s", res.status, res.body)
		}
		defer tok.do("POST", "/api/v1/records:batch", map[string]any{"delete": dels})

		// The markers are stored: staff see every one of them.
		var staff strings.Builder
		for _, id := range ids {
			staff.WriteString(tok.do("GET", "/api/v1/records/sales_order/"+id, nil).body)
		}
		for _, s := range g.secrets {
			if !strings.Contains(staff.String(), s) {
				rt.Fatalf("staff's view lacks %s: %s", s, staff.String())
			}
		}

		outputs := map[string]string{
			"API list":    u20.do("GET", "/api/v1/records/sales_order?limit=500", nil).body,
			"CSV":         u20.send("GET", "/api/v1/records/sales_order?format=csv", "", "", nil).body,
			"NDJSON":      u20.send("GET", "/api/v1/records/sales_order?format=ndjson", "", "", nil).body,
			"as_user":     tok.do("GET", "/api/v1/records/sales_order?as_user=u20&limit=500", nil).body,
			"portal list": portal.get("/a/C1/sales_order?limit=100").body,
			"view as":     admin.get("/admin/view-as/u20/a/C1/sales_order?limit=100").body,
		}
		for _, id := range ids {
			outputs["API get "+id] = u20.do("GET", "/api/v1/records/sales_order/"+id, nil).body
			outputs["as_user get "+id] = tok.do("GET", "/api/v1/records/sales_order/"+id+"?as_user=u20", nil).body
			outputs["portal page "+id] = portal.get("/a/C1/sales_order/" + id).body
			outputs["view as page "+id] = admin.get("/admin/view-as/u20/a/C1/sales_order/" + id).body
		}
		for name, out := range outputs {
			want := ids[0]
			if i := strings.LastIndex(name, " PM"); i >= 0 {
				want = name[i+1:]
			}
			if !strings.Contains(out, want) {
				rt.Fatalf("%s does not show %s at all: %s", name, want, out)
			}
			for _, s := range g.secrets {
				if strings.Contains(out, s) {
					rt.Fatalf("%s shows the restricted value %s to u20:\n%s", name, s, out)
				}
			}
		}
	})
	t.Logf("%d random checks", n)
}

// maskGen draws attribute values holding restricted markers (secrets) and
// neutral values. A value is restricted when it lies under a top-level
// price, discount or amount, or under the first object key below lines
// named price, discount or amount, whatever the arrays around it: the
// values the policy's paths restrict (records.md §5 fails closed when the
// shape differs, removing more, never less).
type maskGen struct {
	t       *rapid.T
	prefix  string
	secrets []string
	k       int
}

// neutral is a value that may show.
func (g *maskGen) neutral() string {
	g.k++
	return fmt.Sprintf("free%d", g.k)
}

// leaf is a scalar at a restricted or a free position.
func (g *maskGen) leaf(restricted bool) any {
	if !restricted {
		return rapid.SampledFrom([]any{g.neutral(), 3.0, true, nil}).Draw(g.t, "free leaf")
	}
	g.k++
	s := fmt.Sprintf("%sS%dX", g.prefix, g.k)
	g.secrets = append(g.secrets, s)
	return s
}

// value draws a JSON value at depth; restricted says whether everything
// in it is restricted.
func (g *maskGen) value(depth int, restricted bool) any {
	kind := "scalar"
	if depth < 3 {
		kind = rapid.SampledFrom([]string{"scalar", "scalar", "object", "array", "nested"}).Draw(g.t, "shape")
	}
	switch kind {
	case "object":
		m := map[string]any{}
		keys := rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"price", "value", "sku", "meta"}), 1, 3, rapid.ID[string]).Draw(g.t, "keys")
		for _, k := range keys {
			m[k] = g.value(depth+1, restricted)
		}
		return m
	case "array":
		var a []any
		for range rapid.IntRange(0, 3).Draw(g.t, "len") {
			a = append(a, g.value(depth+1, restricted))
		}
		return a
	case "nested":
		return []any{[]any{g.value(depth+1, restricted)}}
	}
	return g.leaf(restricted)
}

// lines draws the lines attribute: arrays (of any depth) around objects
// whose price, discount and amount keys are restricted, or a scalar.
func (g *maskGen) lines(depth int) any {
	kind := "object"
	if depth < 3 {
		kind = rapid.SampledFrom([]string{"array", "array", "object", "nested", "scalar"}).Draw(g.t, "lines shape")
	}
	switch kind {
	case "array":
		var a []any
		for range rapid.IntRange(0, 3).Draw(g.t, "lines len") {
			a = append(a, g.lines(depth+1))
		}
		return a
	case "nested":
		return []any{[]any{g.lines(depth + 1)}}
	case "scalar":
		return g.leaf(false)
	}
	m := map[string]any{"sku": g.neutral(), "qty": 2.0}
	for _, k := range []string{"price", "discount", "amount", "meta"} {
		if rapid.Bool().Draw(g.t, "line has "+k) {
			m[k] = g.value(1, slices.Contains([]string{"price", "discount", "amount"}, k))
		}
	}
	return m
}
