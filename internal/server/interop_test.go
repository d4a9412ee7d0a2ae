package server_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
)

func init() {
	// The contract check validates CSV and NDJSON bodies as strings.
	openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.FileBodyDecoder)
}

// send is do with a raw body of a content type and an Accept header.
func (c *client) send(method, path, ctype, accept string, body io.Reader) response {
	c.env.t.Helper()
	req, err := http.NewRequest(method, c.env.srv.URL+path, body)
	if err != nil {
		c.env.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.env.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if ct, err := loadContract(); err != nil {
		c.env.t.Error(err)
	} else if !validates(req.URL.Path) {
	} else if err := ct.check(req, res.StatusCode, res.Header, data); err != nil {
		c.env.t.Errorf("%s %s: the response breaks %s: %v", method, path, openAPIFile, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(data)}
}

// ordersCSV is a records CSV of n sales orders of C1 and C2, ids from
// SO-IMP-000001; bad, when non-zero, spoils that line (1-based, the
// header is line 1) with cell as its attr.price.
func ordersCSV(n, bad int, cell string) string {
	var b strings.Builder
	b.WriteString("id,owner,date,attr.number,attr.status,attr.price,teams\n")
	for i := 1; i <= n; i++ {
		price := fmt.Sprint(i % 1000)
		owner := []string{"C1", "C2"}[i%2]
		if i+1 == bad {
			price = cell
		}
		teams := ""
		if i%100 == 0 {
			teams = `"[{""principal"":""user:u20"",""access"":""read""}]"`
		}
		fmt.Fprintf(&b, "SO-IMP-%06d,%s,2025-01-%02d,N%d,open,%s,%s\n", i, owner, 1+i%28, i, price, teams)
	}
	return b.String()
}

// countRecords counts the records of typ through the CSV download.
func countRecords(t *testing.T, c *client, typ string) int {
	t.Helper()
	res := c.send("GET", "/api/v1/records/"+typ+"?format=csv", "", "", nil)
	if res.status != http.StatusOK {
		t.Fatalf("download %s: %d %s", typ, res.status, res.body)
	}
	rows, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return len(rows) - 1
}

// TestImport_AllOrNothing imports a file of 25,000 records (three chunks)
// whose one bad line lies in the second chunk: nothing is written and the
// error names the line and the field; then the good file imports whole.
func TestImport_AllOrNothing(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		admin := env.bearer()
		for _, tc := range []struct {
			name, cell, field string
			line              int
		}{
			{"number", "12x", "attr.price", 12001},
			{"owner", "", "owner", 15001},
		} {
			body := ordersCSV(25000, tc.line, tc.cell)
			if tc.name == "owner" {
				lines := strings.Split(body, "\n")
				lines[tc.line-1] = strings.Replace(lines[tc.line-1], ",C", ",NO-SUCH-ACCOUNT-C", 1)
				body = strings.Join(lines, "\n")
			}
			res := admin.send("POST", "/api/v1/import?kind=records&type=sales_order", "text/csv", "", strings.NewReader(body))
			if res.status != http.StatusBadRequest {
				t.Fatalf("%s: status %d, want 400: %.300s", tc.name, res.status, res.body)
			}
			var e struct {
				Error struct {
					Code, Message string
					Items         []struct {
						Index   int
						Message string
					}
				}
			}
			if err := json.Unmarshal([]byte(res.body), &e); err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("line %d", tc.line); !strings.Contains(e.Error.Message, want) || len(e.Error.Items) != 1 || e.Error.Items[0].Index != tc.line {
				t.Errorf("%s: error %+v, want it to name %s", tc.name, e.Error, want)
			}
			if tc.field == "attr.price" && !strings.Contains(e.Error.Message, "field attr.price") {
				t.Errorf("%s: message %q does not name the field", tc.name, e.Error.Message)
			}
			if n := countRecords(t, admin, "sales_order"); n != 3 {
				t.Fatalf("%s: %d sales orders after a failed import, want the 3 there were", tc.name, n)
			}
		}
		res := admin.send("POST", "/api/v1/import?kind=records&type=sales_order", "text/csv", "", strings.NewReader(ordersCSV(25000, 0, "")))
		if res.status != http.StatusOK || !strings.Contains(res.body, `"imported":25000`) {
			t.Fatalf("good file: %d %s", res.status, res.body)
		}
		if n := countRecords(t, admin, "sales_order"); n != 25003 {
			t.Fatalf("%d sales orders, want 25003", n)
		}
		// A duplicate id across chunks is a bad line.
		dup := ordersCSV(10001, 0, "") + "SO-IMP-000005,C1,2025-01-01,N,open,1,\n"
		res = admin.send("POST", "/api/v1/import?kind=records&type=invoice", "text/csv", "", strings.NewReader(strings.ReplaceAll(dup, "attr.price", "attr.amount")))
		if res.status != http.StatusBadRequest || !strings.Contains(res.body, "line 10003") || !strings.Contains(res.body, "line 6") {
			t.Errorf("duplicate id: %d %.300s", res.status, res.body)
		}
		// The imported record is typed by the declared fields and teams
		// come from JSON.
		got := admin.do("GET", "/api/v1/records/sales_order/SO-IMP-000100", nil).json(t)
		attrs := got["attributes"].(map[string]any)
		if attrs["price"] != 100.0 || attrs["number"] != "N100" || len(got["teams"].([]any)) != 1 {
			t.Errorf("imported record %v", got)
		}
	})
}

// TestImport_MergesStored imports payments into a type without records
// (the import reads no stored records then), and again without the
// attributes: the second file merges with the stored records (PUT's rules),
// keeping their attributes, and replaces what it gives.
func TestImport_MergesStored(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		admin := env.bearer()
		if n := countRecords(t, admin, "payment"); n != 0 {
			t.Fatalf("%d payments before the test, want none", n)
		}
		var first, second strings.Builder
		first.WriteString("id,owner,date,attr.number,attr.amount\n")
		second.WriteString("id,owner,date\n")
		for i := range 12000 {
			fmt.Fprintf(&first, "PAY-%05d,C1,2025-02-03,N%d,%d\n", i, i, i)
			if i%2 == 0 {
				fmt.Fprintf(&second, "PAY-%05d,C2,2025-03-04\n", i)
			}
		}
		for _, body := range []string{first.String(), second.String()} {
			if res := admin.send("POST", "/api/v1/import?kind=records&type=payment", "text/csv", "", strings.NewReader(body)); res.status != http.StatusOK {
				t.Fatalf("import: %d %.300s", res.status, res.body)
			}
		}
		for _, i := range []int{0, 1, 6000, 11998, 11999} {
			got := admin.do("GET", fmt.Sprintf("/api/v1/records/payment/PAY-%05d", i), nil).json(t)
			owner, date := "C1", "2025-02-03"
			if i%2 == 0 {
				owner, date = "C2", "2025-03-04"
			}
			attrs, _ := got["attributes"].(map[string]any)
			if got["owner"] != owner || got["date"] != date || attrs["number"] != fmt.Sprintf("N%d", i) || attrs["amount"] != float64(i) {
				t.Errorf("PAY-%05d after both imports: %v; want owner %s, date %s and the first file's attributes", i, got, owner, date)
			}
		}
	})
}

// TestImport_Kinds imports accounts, users and grants (CSV and NDJSON),
// refuses other actors and content types.
func TestImport_Kinds(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		admin := env.bearer()
		steps := []struct{ kind, ctype, body string }{
			{"accounts", "text/csv", "id,name,kind,parent,external_access\nC9,Nine,customer,,true\nC9-ST,Nine Sold-To,sold_to,C9,false\n"},
			{"users", "application/x-ndjson", `{"id":"u9","kind":"external","name":"Nine","email":"u9@example.com","home_account":"C9","status":"active"}` + "\n\n"},
			{"grants", "text/csv", "principal,account,role,days_back\nuser:u9,C9,L30,30\n"},
		}
		for _, s := range steps {
			res := admin.send("POST", "/api/v1/import?kind="+s.kind, s.ctype, "", strings.NewReader(s.body))
			if res.status != http.StatusOK {
				t.Fatalf("%s: %d %s", s.kind, res.status, res.body)
			}
		}
		g := admin.do("GET", "/api/v1/grants?principal=user:u9", nil).json(t)
		if items := g["items"].([]any); len(items) != 1 || items[0].(map[string]any)["days_back"] != 30.0 {
			t.Errorf("grants of u9: %v", g)
		}
		// A malformed line anywhere writes nothing.
		res := admin.send("POST", "/api/v1/import?kind=accounts", "text/csv", "", strings.NewReader("id,name,kind,external_access\nC10,Ten,customer,true\nC11,Eleven,customer,maybe\n"))
		if res.status != http.StatusBadRequest || !strings.Contains(res.body, "line 3, field external_access") {
			t.Errorf("bad bool: %d %s", res.status, res.body)
		}
		if r := admin.do("GET", "/api/v1/accounts/C10", nil); r.status != http.StatusNotFound {
			t.Errorf("C10 was written: %d", r.status)
		}
		// A line the store refuses (a missing parent; an email in use) in
		// the middle of a file writes nothing either, nor does an id given
		// twice; an account may name a parent from an earlier line.
		for _, bad := range []struct{ kind, ctype, body, want, absent string }{
			{"accounts", "text/csv", "id,name,kind,parent\nC12,Twelve,customer,\nC12-ST,Sold-To,sold_to,C12\nC13,Thirteen,sold_to,NOPE\nC14,Fourteen,customer,\n",
				"line 4", "/api/v1/accounts/C12"},
			{"users", "application/x-ndjson", `{"id":"imp10","kind":"external","name":"Ten","email":"imp10@example.com","home_account":"C9","status":"active"}` + "\n" +
				`{"id":"imp11","kind":"external","name":"Eleven","email":"u9@example.com","home_account":"C9","status":"active"}` + "\n",
				"line 2", "/api/v1/users/imp10"},
			{"accounts", "text/csv", "id,name,kind\nC15,Fifteen,customer\nC15,Again,customer\n", "already on line 2", "/api/v1/accounts/C15"},
		} {
			res := admin.send("POST", "/api/v1/import?kind="+bad.kind, bad.ctype, "", strings.NewReader(bad.body))
			if res.status/100 != 4 || !strings.Contains(res.body, bad.want) {
				t.Errorf("%s import with a bad line: %d %s", bad.kind, res.status, res.body)
			}
			if r := admin.do("GET", bad.absent, nil); r.status != http.StatusNotFound {
				t.Errorf("%s was written by a failed import: %d", bad.absent, r.status)
			}
		}
		if res := admin.send("POST", "/api/v1/import?kind=accounts", "text/csv", "", strings.NewReader("id,name,kind,parent\nC12,Twelve,customer,\nC12-ST,Sold-To,sold_to,C12\n")); res.status != http.StatusOK {
			t.Errorf("parent on an earlier line: %d %s", res.status, res.body)
		} else if r := admin.do("GET", "/api/v1/accounts/C12-ST", nil).json(t); r["parent"] != "C12" {
			t.Errorf("C12-ST after import: %v", r)
		}
		for _, tc := range []struct {
			name   string
			c      *client
			path   string
			ctype  string
			status int
		}{
			{"external", env.as("adm80"), "/api/v1/import?kind=records&type=sales_order", "text/csv", http.StatusForbidden},
			{"auditor", env.as("auditor"), "/api/v1/import?kind=records&type=sales_order", "text/csv", http.StatusForbidden},
			{"anonymous", env.anonymous(), "/api/v1/import?kind=records&type=sales_order", "text/csv", http.StatusUnauthorized},
			{"kind", admin, "/api/v1/import?kind=nothing", "text/csv", http.StatusBadRequest},
			{"type", admin, "/api/v1/import?kind=records&type=nothing", "text/csv", http.StatusBadRequest},
			{"param", admin, "/api/v1/import?kind=records&type=sales_order&x=1", "text/csv", http.StatusBadRequest},
			{"media", admin, "/api/v1/import?kind=records&type=sales_order", "text/plain", http.StatusUnsupportedMediaType},
			{"column", admin, "/api/v1/import?kind=records&type=sales_order", "text/csv", http.StatusBadRequest},
		} {
			body := "id,owner\nX1,C1\n"
			if tc.name == "column" {
				body = "id,secret\nX1,C1\n"
			}
			if res := tc.c.send("POST", tc.path, tc.ctype, "", strings.NewReader(body)); res.status != tc.status {
				t.Errorf("%s: %d, want %d: %s", tc.name, res.status, tc.status, res.body)
			}
		}
	})
}

// TestExport_Masks downloads sales orders as the L20 and L30 users: the
// L20 file has no price column and no hidden value, and both parse back
// to exactly the records of the JSON list.
func TestExport_Masks(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		hidden := []string{"price", "discount", "amount"}
		for _, tc := range []struct {
			user   string
			prices bool
		}{{"u20", false}, {"u30", true}} {
			c := env.as(tc.user)
			res := c.send("GET", "/api/v1/records/sales_order?sort=id", "", "text/csv", nil)
			if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") ||
				!strings.HasPrefix(res.header.Get("Content-Disposition"), "attachment") {
				t.Fatalf("%s: %d %v %s", tc.user, res.status, res.header, res.body)
			}
			rows, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
			if err != nil {
				t.Fatalf("%s: the CSV does not parse: %v", tc.user, err)
			}
			head := rows[0]
			for _, f := range hidden {
				if has := slices.Contains(head, "attr."+f); has != tc.prices {
					t.Errorf("%s: column attr.%s present %v, want %v: %v", tc.user, f, has, tc.prices, head)
				}
			}
			if slices.Contains(head, "teams") {
				t.Errorf("%s: an external user's file has teams", tc.user)
			}
			if !tc.prices {
				for _, bad := range append(hidden, "c1-secret-note") {
					if strings.Contains(res.body, bad) {
						t.Errorf("%s: the file contains %q:\n%s", tc.user, bad, res.body)
					}
				}
				for _, row := range rows {
					for _, cell := range row {
						if cell == "100" || cell == "95" || cell == "60" || strings.Contains(cell, "price") {
							t.Errorf("%s: the file shows the hidden value %q:\n%s", tc.user, cell, res.body)
						}
					}
				}
			}
			// The file is the JSON list: same records, same visible values.
			list := c.do("GET", "/api/v1/records/sales_order?sort=id&limit=500", nil).json(t)
			items := list["items"].([]any)
			if len(rows)-1 != len(items) {
				t.Fatalf("%s: %d rows, %d records in the JSON list", tc.user, len(rows)-1, len(items))
			}
			for i, it := range items {
				rec := it.(map[string]any)
				row := map[string]string{}
				for j, name := range head {
					row[name] = rows[i+1][j]
				}
				if row["id"] != rec["id"] || row["owner"] != fmt.Sprint(rec["owner"]) {
					t.Errorf("%s: row %v is not record %v", tc.user, row, rec)
				}
				for name, v := range rec["attributes"].(map[string]any) {
					col, ok := row["attr."+name]
					if !ok {
						continue // undeclared attributes are not columns
					}
					if col != fmt.Sprint(v) {
						t.Errorf("%s: %s attr.%s = %q, want %v", tc.user, row["id"], name, col, v)
					}
				}
				for name, col := range row {
					if a, ok := strings.CutPrefix(name, "attr."); ok && col != "" {
						if _, ok := rec["attributes"].(map[string]any)[a]; !ok {
							t.Errorf("%s: %s has %s %q the JSON answer does not show", tc.user, row["id"], name, col)
						}
					}
				}
			}
			nd := c.send("GET", "/api/v1/records/sales_order?format=ndjson", "", "", nil)
			if nd.status != http.StatusOK || strings.Count(nd.body, "\n") != len(items) {
				t.Errorf("%s ndjson: %d %s", tc.user, nd.status, nd.body)
			}
			if !tc.prices && (strings.Contains(nd.body, "price") || strings.Contains(nd.body, "amount")) {
				t.Errorf("%s: the NDJSON file shows a hidden field: %s", tc.user, nd.body)
			}
		}
		// The portal's list links to its download, which the session
		// cookie authenticates.
		u20 := env.as("u20")
		page := u20.send("GET", "/a/C1/sales_order?attr.status=open", "", "", nil)
		i := strings.Index(page.body, `href="/api/v1/records/sales_order?`)
		if i < 0 || !strings.Contains(page.body, "Download CSV") {
			t.Fatalf("no download link on the portal list: %d", page.status)
		}
		link := strings.ReplaceAll(page.body[i+6:i+6+strings.Index(page.body[i+6:], `"`)], "&amp;", "&")
		if dl := u20.send("GET", link, "", "", nil); dl.status != http.StatusOK || !strings.Contains(dl.body, "SO1") {
			t.Errorf("download link %s: %d %s", link, dl.status, dl.body)
		}
		// Other lists, as staff; bad parameters before any byte is sent.
		admin := env.bearer()
		for _, path := range []string{"/api/v1/accounts", "/api/v1/users", "/api/v1/grants", "/api/v1/groups", "/api/v1/audit"} {
			res := admin.send("GET", path+"?format=csv", "", "", nil)
			rows, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
			if res.status != http.StatusOK || err != nil || len(rows) < 2 {
				t.Errorf("%s: %d %v %.200s", path, res.status, err, res.body)
			}
			if res := admin.send("GET", path, "", "application/x-ndjson", nil); res.status != http.StatusOK || !strings.HasPrefix(res.body, "{") {
				t.Errorf("%s ndjson: %d %.200s", path, res.status, res.body)
			}
		}
		if res := admin.send("GET", "/api/v1/records/sales_order?format=xml", "", "", nil); res.status != http.StatusBadRequest {
			t.Errorf("format=xml: %d", res.status)
		}
		if res := env.as("u20").send("GET", "/api/v1/records/sales_order?format=csv&attr.price=100", "", "", nil); res.status != http.StatusBadRequest {
			t.Errorf("filter on a hidden field: %d %s", res.status, res.body)
		}
		if res := env.as("u20").send("GET", "/api/v1/users?format=csv", "", "", nil); res.status != http.StatusForbidden {
			t.Errorf("users as u20: %d", res.status)
		}
		if res := env.anonymous().send("GET", "/api/v1/records/sales_order?format=csv", "", "", nil); res.status != http.StatusUnauthorized || !strings.Contains(res.body, "unauthenticated") {
			t.Errorf("anonymous: %d %s", res.status, res.body)
		}
	})
}

// TestExport_EveryList downloads the lists that are not accounts, users,
// grants, groups, audit or records (tested above) as CSV and NDJSON: each
// file has as many rows as the JSON list has items, under a header, and
// never a secret's column.
func TestExport_EveryList(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		admin := env.bearer()
		for _, path := range []string{
			"/api/v1/records/sales_order/SO1/viewers", "/api/v1/tokens", "/api/v1/invitations", "/api/v1/outbox",
			"/api/v1/policy/versions", "/api/v1/comments", "/api/v1/identity-providers", "/api/v1/scim-tokens",
		} {
			list := admin.do("GET", path, nil)
			if list.status != http.StatusOK {
				t.Fatalf("%s: %d %s", path, list.status, list.body)
			}
			items := len(list.json(t)["items"].([]any))
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			res := admin.send("GET", path+sep+"format=csv", "", "", nil)
			if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") {
				t.Fatalf("%s as CSV: %d %s %s", path, res.status, res.header.Get("Content-Type"), res.body)
			}
			rows, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
			if err != nil || len(rows) != items+1 {
				t.Errorf("%s as CSV: %d rows for %d items (%v): %s", path, len(rows), items, err, res.body)
			}
			for _, col := range rows[0] {
				if strings.Contains(col, "secret") && col != "client_secret_set" || col == "hash" {
					t.Errorf("%s as CSV has the column %s", path, col)
				}
			}
			res = admin.send("GET", path, "", "application/x-ndjson", nil)
			lines := strings.Count(res.body, "\n")
			if res.status != http.StatusOK || lines != items {
				t.Errorf("%s as NDJSON: %d, %d lines for %d items: %s", path, res.status, lines, items, res.body)
			}
		}
	})
}
