package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// scenario is one API call and what must and must not be in the answer.
type scenario struct {
	name        string
	as          string // a user id, "token" (admin API token) or "" (anonymous)
	method      string
	path        string
	body        any
	status      int
	code        string   // error code, when the call fails
	contains    []string // substrings the body must hold
	notContains []string // substrings it must not: hidden fields, other customers' ids
}

// scenarioGroups walk DESIGN.md §2 and §3 over HTTP. Each group runs on a
// fresh world per backend, so a write that fails (or lands where it should
// not) can only disturb the scenarios of its own group; within a group the
// scenarios run in order and later ones may read what earlier ones wrote.
var scenarioGroups = []scenarioGroup{
	{name: "authentication", scenarios: []scenario{
		{name: "anonymous me", method: "GET", path: "/api/v1/me", status: 401, code: "unauthenticated"},
		{name: "bad token", as: "badtoken", method: "GET", path: "/api/v1/me", status: 401, code: "unauthenticated"},
		{name: "me shows the account switcher", as: "u20", method: "GET", path: "/api/v1/me", status: 200,
			contains: []string{`"id":"C1"`, `"id":"C1-ST1"`, `"role":"L20"`, `"sales_order":["read"]`}, notContains: []string{`"C2"`}},
	}},
	{name: "ladder", scenarios: []scenario{
		// The ladder: hidden prices, also inside lines; 404 for the invisible.
		{name: "L20 lists its orders without prices", as: "u20", method: "GET", path: "/api/v1/records/sales_order", status: 200,
			contains: []string{`"SO1"`, `"SO3"`, `"sku":"A"`}, notContains: []string{`"SO2"`, `"price"`, `"amount"`, `"teams"`}},
		{name: "L20 reads an order without prices", as: "u20", method: "GET", path: "/api/v1/records/sales_order/SO1", status: 200,
			contains: []string{`"owner":"C1"`, `"customer":"C1"`}, notContains: []string{`"price"`, `"amount"`, `"teams"`}},
		{name: "L30 sees prices, also in lines", as: "u30", method: "GET", path: "/api/v1/records/sales_order/SO1", status: 200,
			contains: []string{`"price":100`, `"amount":95`, `"price":60`}},
		{name: "another customer's order is 404", as: "u20", method: "GET", path: "/api/v1/records/sales_order/SO2", status: 404, code: "not_found"},
		{name: "invoice beyond the role is 404", as: "u20", method: "GET", path: "/api/v1/records/invoice/IN1", status: 404, code: "not_found"},
		{name: "a type the role lacks lists empty", as: "u20", method: "GET", path: "/api/v1/records/invoice", status: 200, contains: []string{`"items":[]`}},
		{name: "unknown type", as: "u20", method: "GET", path: "/api/v1/records/nope", status: 404, code: "not_found"},
		{name: "the other customer sees its own only", as: "other", method: "GET", path: "/api/v1/records/sales_order", status: 200,
			contains: []string{`"SO2"`}, notContains: []string{`"SO1"`, `"SO3"`, "c1-secret-note"}},
	}},
	{name: "filters", scenarios: []scenario{
		// Filters: hidden, undeclared and unknown fields are the same error.
		{name: "filter on a hidden field", as: "u20", method: "GET", path: "/api/v1/records/sales_order?attr.price=100", status: 400, code: "invalid_field",
			contains: []string{"field price cannot be used"}},
		{name: "filter on an unknown field", as: "u20", method: "GET", path: "/api/v1/records/sales_order?attr.zzz=1", status: 400, code: "invalid_field",
			contains: []string{"field zzz cannot be used"}},
		{name: "sort on a hidden field", as: "u20", method: "GET", path: "/api/v1/records/sales_order?sort=-attr.price", status: 400, code: "invalid_field"},
		{name: "L30 filters on price", as: "u30", method: "GET", path: "/api/v1/records/sales_order?attr.price=100", status: 200,
			contains: []string{`"SO1"`}, notContains: []string{`"SO3"`}},
		{name: "filter on status", as: "u20", method: "GET", path: "/api/v1/records/sales_order?attr.status=shipped", status: 200,
			contains: []string{`"SO3"`}, notContains: []string{`"SO1"`}},
		{name: "repeated filter means OR", as: "u20", method: "GET", path: "/api/v1/records/sales_order?attr.status=shipped&attr.status=open", status: 200,
			contains: []string{`"SO3"`, `"SO1"`}},
		{name: "number filter must parse", as: "u30", method: "GET", path: "/api/v1/records/sales_order?attr.price=cheap", status: 400, code: "invalid"},
		{name: "bad date filter", as: "u20", method: "GET", path: "/api/v1/records/sales_order?date_from=yesterday", status: 400, code: "invalid"},
		{name: "account filter", as: "u20", method: "GET", path: "/api/v1/records/sales_order?account=C1-ST1", status: 200,
			contains: []string{`"SO3"`}, notContains: []string{`"SO1"`}},
		{name: "limit gives a cursor", as: "u20", method: "GET", path: "/api/v1/records/sales_order?limit=1", status: 200, contains: []string{`"next_cursor"`}},
		{name: "bad limit", as: "u20", method: "GET", path: "/api/v1/records/sales_order?limit=0", status: 400, code: "invalid"},
		{name: "updated_since is for staff", as: "u20", method: "GET", path: "/api/v1/records/sales_order?updated_since=2020-01-01T00:00:00Z", status: 400, code: "invalid"},
	}},
	{name: "sharing", scenarios: []scenario{
		// Sharing: a shipment follows its order, read-only.
		{name: "shipment visible through its order", as: "u20", method: "GET", path: "/api/v1/records/shipment", status: 200, contains: []string{`"SH1"`}},
		{name: "shared shipment shows its parent", as: "u20", method: "GET", path: "/api/v1/records/shipment/SH1", status: 200, contains: []string{`"parent":{"type":"sales_order","id":"SO1"}`}},
		{name: "shared shipment is read-only", as: "u20", method: "PATCH", path: "/api/v1/records/shipment/SH1", body: map[string]any{"attributes": map[string]any{"carrier": "x"}}, status: 403, code: "forbidden"},
		{name: "other cannot see the shipment", as: "other", method: "GET", path: "/api/v1/records/shipment/SH1", status: 404, code: "not_found"},
	}},
	{name: "external writes", scenarios: []scenario{
		{name: "L20 cannot update an order", as: "u20", method: "PATCH", path: "/api/v1/records/sales_order/SO1", body: map[string]any{"attributes": map[string]any{"status": "cancelled"}}, status: 403, code: "forbidden"},
		{name: "patching an invisible order is 404", as: "u20", method: "PATCH", path: "/api/v1/records/sales_order/SO2", body: map[string]any{"attributes": map[string]any{}}, status: 404, code: "not_found"},
		{name: "external PUT is forbidden", as: "u20", method: "PUT", path: "/api/v1/records/sales_order/SOX", body: map[string]any{"owner": "C1"}, status: 403, code: "forbidden"},
		{name: "external delete of a visible record", as: "u20", method: "DELETE", path: "/api/v1/records/sales_order/SO1", status: 403, code: "forbidden"},
		{name: "external delete of an invisible record", as: "u20", method: "DELETE", path: "/api/v1/records/sales_order/SO2", status: 404, code: "not_found"},
		{name: "L10 creates a ticket", as: "u10", method: "POST", path: "/api/v1/records/ticket",
			body:   map[string]any{"owner": "C1", "attributes": map[string]any{"title": "Help", "type": "question", "status": "new"}},
			status: 201, contains: []string{`"creator":"u10"`, `"owner":"C1"`, `"title":"Help"`, `"date":"2`}, notContains: []string{`"teams"`}},
		{name: "L10 cannot create orders", as: "u10", method: "POST", path: "/api/v1/records/sales_order", body: map[string]any{"owner": "C1", "attributes": map[string]any{}}, status: 403, code: "forbidden"},
		{name: "L10 cannot create under another customer", as: "u10", method: "POST", path: "/api/v1/records/ticket", body: map[string]any{"owner": "C2", "attributes": map[string]any{}}, status: 403, code: "forbidden"},
		{name: "L10 cannot read another's ticket in own scope", as: "u20", method: "GET", path: "/api/v1/records/ticket/T1", status: 200},
		// records.md §1: a customer's order carries what its form may set;
		// number, status, date and prices are the server's and the ERP's.
		{name: "L80 creates an order from lines", as: "adm80", method: "POST", path: "/api/v1/records/sales_order",
			body: map[string]any{"owner": "C1", "attributes": map[string]any{"po_number": "PO-7", "requested_date": "2030-01-02",
				"lines": []any{map[string]any{"sku": "A", "qty": 2}}}},
			status: 201, contains: []string{`"id":"WEB-1000`, `"number":"WEB-1000`, `"status":"requested"`, `"customer":"C1"`, `"po_number":"PO-7"`, `"qty":2`},
			notContains: []string{`"price"`}},
		{name: "an order with a price is refused", as: "adm80", method: "POST", path: "/api/v1/records/sales_order",
			body: map[string]any{"owner": "C1", "attributes": map[string]any{"price": 0.01}}, status: 400, code: "invalid_field", contains: []string{"field price cannot be written"}},
		{name: "an order with a status is refused", as: "adm80", method: "POST", path: "/api/v1/records/sales_order",
			body: map[string]any{"owner": "C1", "attributes": map[string]any{"status": "invoiced"}}, status: 400, code: "invalid_field", contains: []string{"field status cannot be written"}},
		{name: "an order with an amount is refused", as: "adm80", method: "POST", path: "/api/v1/records/sales_order",
			body: map[string]any{"owner": "C1", "attributes": map[string]any{"amount": 1}}, status: 400, code: "invalid_field", contains: []string{"field amount cannot be written"}},
		{name: "an order reusing an ERP number is refused", as: "adm80", method: "POST", path: "/api/v1/records/sales_order",
			body: map[string]any{"owner": "C1", "attributes": map[string]any{"number": "SO1"}}, status: 400, code: "invalid_field", contains: []string{"field number cannot be written"}},
		{name: "a line price is refused", as: "adm80", method: "POST", path: "/api/v1/records/sales_order",
			body:   map[string]any{"owner": "C1", "attributes": map[string]any{"lines": []any{map[string]any{"sku": "A", "qty": 1, "price": 0.01}}}},
			status: 400, code: "invalid_field", contains: []string{"field lines[].price cannot be written"}},
		{name: "an external create cannot pick the id", as: "adm80", method: "POST", path: "/api/v1/records/sales_order",
			body: map[string]any{"id": "MINE", "owner": "C1", "attributes": map[string]any{}}, status: 403, code: "forbidden"},
		{name: "a ticket's hidden, read-only and unknown fields read alike", as: "u20", method: "PATCH", path: "/api/v1/records/ticket/T1",
			body: map[string]any{"attributes": map[string]any{"number": "TK-1"}}, status: 400, code: "invalid_field", contains: []string{`"field number cannot be written"`}},
		{name: "a ticket's created date is read-only", as: "u20", method: "PATCH", path: "/api/v1/records/ticket/T1",
			body: map[string]any{"attributes": map[string]any{"created": "2020-01-01"}}, status: 400, code: "invalid_field", contains: []string{`"field created cannot be written"`}},
		{name: "an unknown ticket field", as: "u20", method: "PATCH", path: "/api/v1/records/ticket/T1",
			body: map[string]any{"attributes": map[string]any{"bogus": 1}}, status: 400, code: "invalid_field", contains: []string{`"field bogus cannot be written"`}},
		{name: "as_user is for staff", as: "u20", method: "GET", path: "/api/v1/records/sales_order?as_user=u30", status: 403, code: "forbidden"},
	}},
	{name: "staff and integrations", scenarios: []scenario{
		{name: "staff see everything", as: "token", method: "GET", path: "/api/v1/records/sales_order", status: 200, contains: []string{`"SO1"`, `"SO2"`, `"teams":[]`, `"price"`}},
		{name: "view as L20", as: "token", method: "GET", path: "/api/v1/records/sales_order?as_user=u20", status: 200, contains: []string{`"SO1"`}, notContains: []string{`"SO2"`, `"price"`}},
		{name: "check allowed with no fields", as: "token", method: "POST", path: "/api/v1/check", body: map[string]any{"user": "u20", "action": "read", "type": "sales_order", "id": "SO1"},
			status: 200, contains: []string{`"allowed":true`, `"fields":[]`, `"revision"`}},
		{name: "check with price fields", as: "token", method: "POST", path: "/api/v1/check", body: map[string]any{"user": "u30", "type": "sales_order", "id": "SO1"},
			status: 200, contains: []string{`"allowed":true`, `"lines[].price"`}},
		{name: "check denied", as: "token", method: "POST", path: "/api/v1/check", body: map[string]any{"user": "other", "type": "sales_order", "id": "SO1"}, status: 200, contains: []string{`"allowed":false`}},
		{name: "check a bad action", as: "token", method: "POST", path: "/api/v1/check", body: map[string]any{"user": "u20", "action": "fly", "type": "sales_order", "id": "SO1"}, status: 400, code: "invalid"},
		{name: "check batch in order", as: "token", method: "POST", path: "/api/v1/check:batch", body: map[string]any{"checks": []any{
			map[string]any{"user": "u20", "type": "sales_order", "id": "SO1"}, map[string]any{"user": "u20", "type": "sales_order", "id": "SO2"}}},
			status: 200, contains: []string{`{"results":[{"allowed":true`, `},{"allowed":false`}},
		{name: "explain a denial", as: "token", method: "GET", path: "/api/v1/explain?user=u20&type=invoice&id=IN1", status: 200,
			contains: []string{`"allowed":false`, `"role_lacks_permission"`}},
		{name: "explain an allow", as: "token", method: "GET", path: "/api/v1/explain?user=u20&type=sales_order&id=SO1", status: 200,
			contains: []string{`"kind":"owner"`, `"role":"L20"`, `"field":"price"`}},
		{name: "viewers", as: "token", method: "GET", path: "/api/v1/records/sales_order/SO1/viewers", status: 200,
			contains: []string{`"user":"u20"`, `"user":"u30"`, `"user":"owner"`}, notContains: []string{`"user":"other"`}},
		{name: "externals cannot check", as: "u20", method: "POST", path: "/api/v1/check", body: map[string]any{"user": "u20", "type": "sales_order", "id": "SO1"}, status: 403, code: "forbidden"},
		{name: "externals cannot explain", as: "u20", method: "GET", path: "/api/v1/explain?user=u20&type=sales_order&id=SO1", status: 403, code: "forbidden"},
	}},
	{name: "staff endpoints", scenarios: []scenario{
		// Users, groups, policy and audit are not for plain external users.
		{name: "users are 403 to plain users", as: "u20", method: "GET", path: "/api/v1/users", status: 403, code: "forbidden"},
		{name: "groups are 403 to externals", as: "adm80", method: "GET", path: "/api/v1/groups", status: 403, code: "forbidden"},
		{name: "policy is 403 to externals", as: "adm80", method: "GET", path: "/api/v1/policy", status: 403, code: "forbidden"},
		{name: "audit is 403 to externals", as: "adm80", method: "GET", path: "/api/v1/audit", status: 403, code: "forbidden"},
		{name: "a customer admin lists its users", as: "adm80", method: "GET", path: "/api/v1/users", status: 200,
			contains: []string{`"u20"`}, notContains: []string{`"other"`, `"admin"`}},
		{name: "a customer admin cannot see another customer's user", as: "adm80", method: "GET", path: "/api/v1/users/other", status: 404, code: "not_found"},
	}},
	{name: "delegation", scenarios: []scenario{
		{name: "customer admin grants L20 on a sold-to", as: "adm80", method: "POST", path: "/api/v1/grants",
			body: map[string]any{"principal": "user:u10", "account": "C1-ST1", "role": "L20", "days_back": 30}, status: 201, contains: []string{`"days_back":30`, `"created_by":"adm80"`}},
		{name: "customer admin cannot give L90", as: "adm80", method: "POST", path: "/api/v1/grants",
			body: map[string]any{"principal": "user:u10", "account": "C1-ST1", "role": "L90"}, status: 403, code: "forbidden"},
		{name: "customer admin cannot grant another customer's user", as: "adm80", method: "POST", path: "/api/v1/grants",
			body: map[string]any{"principal": "user:other", "account": "C1", "role": "L10"}, status: 403, code: "forbidden"},
		{name: "customer admin cannot raise itself", as: "adm80", method: "POST", path: "/api/v1/grants",
			body: map[string]any{"principal": "user:adm80", "account": "C1-ST1", "role": "L80"}, status: 403, code: "forbidden"},
		{name: "customer admin cannot make group grants", as: "adm80", method: "POST", path: "/api/v1/grants",
			body: map[string]any{"principal": "group:acct:C1", "account": "C1", "role": "L10"}, status: 403, code: "forbidden"},
		{name: "a duplicate grant is a conflict naming the existing one", as: "token", method: "POST", path: "/api/v1/grants",
			body: map[string]any{"principal": "user:u20", "account": "C1", "role": "L10"}, status: 409, code: "conflict", contains: []string{`"existing_id"`}},
		{name: "a grant on a missing account", as: "token", method: "POST", path: "/api/v1/grants",
			body: map[string]any{"principal": "user:u20", "account": "NOPE", "role": "L10"}, status: 400, code: "invalid"},
		{name: "an L90 grant must be whole", as: "token", method: "POST", path: "/api/v1/grants",
			body: map[string]any{"principal": "user:u30", "account": "C1-ST1", "role": "L90", "days_back": 5}, status: 400, code: "invalid"},
	}},
	{name: "accounts", scenarios: []scenario{
		{name: "create an account", as: "token", method: "PUT", path: "/api/v1/accounts/C3", body: map[string]any{"name": "Initech", "kind": "customer"}, status: 201,
			contains: []string{`"external_access":false`, `"inherit":true`}},
		{name: "upsert keeps omitted fields", as: "token", method: "PUT", path: "/api/v1/accounts/C1", body: map[string]any{"kind": "customer"}, status: 200,
			contains: []string{`"external_access":true`, `"name":"Acme Secret Corp"`}},
		{name: "a missing parent is invalid", as: "token", method: "PUT", path: "/api/v1/accounts/C4", body: map[string]any{"parent": "NOPE"}, status: 400, code: "invalid"},
		{name: "a cycle is invalid", as: "token", method: "PATCH", path: "/api/v1/accounts/C1", body: map[string]any{"parent": "C1-ST1"}, status: 400, code: "invalid"},
		{name: "an unknown field is invalid", as: "token", method: "PUT", path: "/api/v1/accounts/C5", body: map[string]any{"colour": "red"}, status: 400, code: "invalid"},
		{name: "an account with children cannot be deleted", as: "token", method: "DELETE", path: "/api/v1/accounts/C1", status: 409},
		{name: "patching a missing account", as: "token", method: "PATCH", path: "/api/v1/accounts/NOPE", body: map[string]any{"name": "x"}, status: 404, code: "not_found"},
		{name: "auditors cannot write", as: "auditor", method: "PUT", path: "/api/v1/accounts/C6", body: map[string]any{"name": "x"}, status: 403, code: "forbidden"},
		{name: "externals cannot write accounts", as: "adm80", method: "PATCH", path: "/api/v1/accounts/C1", body: map[string]any{"external_access": false}, status: 403, code: "forbidden"},
	}},
	{name: "users", scenarios: []scenario{
		{name: "an external user needs an existing home", as: "token", method: "PUT", path: "/api/v1/users/x1",
			body: map[string]any{"kind": "external", "email": "x1@example.com", "home_account": "NOPE"}, status: 400, code: "invalid"},
		{name: "emails are unique case-insensitively", as: "token", method: "PUT", path: "/api/v1/users/x2",
			body: map[string]any{"kind": "external", "email": "U20@example.com", "home_account": "C1"}, status: 409, code: "conflict"},
		{name: "an access manager cannot create admins", as: "manager", method: "PUT", path: "/api/v1/users/x3",
			body: map[string]any{"kind": "internal", "email": "x3@example.com", "staff_role": "admin"}, status: 403, code: "forbidden"},
		{name: "a customer admin invites a colleague", as: "adm80", method: "PUT", path: "/api/v1/users/x4",
			body: map[string]any{"kind": "external", "email": "x4@example.com", "home_account": "C1-ST1", "status": "invited"}, status: 201, contains: []string{`"status":"invited"`}},
		{name: "a customer admin cannot create staff", as: "adm80", method: "PUT", path: "/api/v1/users/x5",
			body: map[string]any{"kind": "internal", "email": "x5@example.com", "staff_role": "auditor"}, status: 403, code: "forbidden"},
		{name: "a user holding the Owner role cannot be deleted", as: "token", method: "DELETE", path: "/api/v1/users/owner", status: 409, code: "protected"},
		{name: "a constraint on an undeclared field is refused naming it", as: "token", method: "PATCH", path: "/api/v1/users/u20",
			body: map[string]any{"constraints": map[string]any{"ticket": map[string]any{"staus": []string{"new", "closed"}}}}, status: 400, code: "invalid",
			contains: []string{"has no field staus"}},
		{name: "a constraint on an undeclared value is refused naming it", as: "token", method: "PATCH", path: "/api/v1/users/u20",
			body: map[string]any{"constraints": map[string]any{"ticket": map[string]any{"type": []string{"question", "bogus"}}}}, status: 400, code: "invalid",
			contains: []string{`\"bogus\" is not one of`}},
		{name: "declared constraints are kept", as: "token", method: "PATCH", path: "/api/v1/users/u20",
			body: map[string]any{"constraints": map[string]any{"ticket": map[string]any{"type": []string{"question"}}}}, status: 200,
			contains: []string{`"type":["question"]`}},
		{name: "a weak password", as: "token", method: "POST", path: "/api/v1/users/u20/password", body: map[string]any{"password": "short"}, status: 400, code: "invalid"},
	}},
	{name: "input in good faith", scenarios: []scenario{
		// records.md §4: what the ERP sends is taken in good faith.
		{name: "a batch whose teams name a principal twice merges them", as: "token", method: "POST", path: "/api/v1/records:batch",
			body: map[string]any{"upsert": []any{map[string]any{"type": "sales_order", "id": "GF1", "attributes": map[string]any{"customer": "C2"},
				"teams": []any{map[string]any{"principal": "user:u20", "access": "read"}, map[string]any{"principal": "account:C1", "access": "read"}, map[string]any{"principal": "user:u20", "access": "read_write"}}}}},
			status: 200, contains: []string{`"upserted":1`}},
		{name: "the merged entry has the broader access", as: "token", method: "GET", path: "/api/v1/records/sales_order/GF1", status: 200,
			contains: []string{`"teams":[{"principal":"user:u20","access":"read_write"},{"principal":"account:C1","access":"read"}]`}},
		// records.md §5: filters and sorts on the owner match only through
		// owner paths, so GF1 (C2's, shared with u20 and C1 by teams) never
		// tells u20 that its owner is C2.
		{name: "the shared order is listed", as: "u20", method: "GET", path: "/api/v1/records/sales_order", status: 200,
			contains: []string{`"GF1"`}, notContains: []string{`"C2"`}},
		{name: "an account filter never matches through teams", as: "u20", method: "GET", path: "/api/v1/records/sales_order?account=C2", status: 200,
			contains: []string{`"items":[]`}, notContains: []string{`"GF1"`}},
		{name: "an owner_field filter never matches through teams", as: "u20", method: "GET", path: "/api/v1/records/sales_order?attr.customer=C2", status: 200,
			contains: []string{`"items":[]`}, notContains: []string{`"GF1"`}},
		{name: "an owner_field sort lists owned records only", as: "u20", method: "GET", path: "/api/v1/records/sales_order?sort=attr.customer", status: 200,
			contains: []string{`"SO1"`}, notContains: []string{`"GF1"`}},
		{name: "an account filter still matches owned records", as: "u20", method: "GET", path: "/api/v1/records/sales_order?account=C1", status: 200,
			contains: []string{`"SO1"`}, notContains: []string{`"GF1"`}},
		{name: "staff filters see every owner", as: "token", method: "GET", path: "/api/v1/records/sales_order?account=C2", status: 200,
			contains: []string{`"GF1"`}},
		{name: "PUT merges duplicate teams", as: "token", method: "PUT", path: "/api/v1/records/sales_order/GF2",
			body:   map[string]any{"teams": []any{map[string]any{"principal": "account:C1", "access": "read_write"}, map[string]any{"principal": "account:C1", "access": "read"}}},
			status: 201, contains: []string{`"teams":[{"principal":"account:C1","access":"read_write"}]`}},
		{name: "PATCH merges duplicate teams", as: "token", method: "PATCH", path: "/api/v1/records/sales_order/GF2",
			body:   map[string]any{"teams": []any{map[string]any{"principal": "user:u30", "access": "read"}, map[string]any{"principal": "user:u30", "access": "read"}}},
			status: 200, contains: []string{`"teams":[{"principal":"user:u30","access":"read"}]`}},
		{name: "POST merges duplicate teams", as: "token", method: "POST", path: "/api/v1/records/sales_order",
			body:   map[string]any{"id": "GF3", "teams": []any{map[string]any{"principal": "user:u30", "access": "read"}, map[string]any{"principal": "user:u30", "access": "read_write"}}},
			status: 201, contains: []string{`"teams":[{"principal":"user:u30","access":"read_write"}]`}},
		{name: "a bad access is still refused", as: "token", method: "PUT", path: "/api/v1/records/sales_order/GF4",
			body:   map[string]any{"teams": []any{map[string]any{"principal": "user:u30", "access": "read"}, map[string]any{"principal": "user:u30", "access": "all"}}},
			status: 400, code: "invalid"},
		{name: "PUT with owner null is unowned whatever owner_field says", as: "token", method: "PUT", path: "/api/v1/records/sales_order/GF5",
			body:   map[string]any{"owner": nil, "date": nil, "attributes": map[string]any{"customer": "C1", "order_date": "2026-01-02"}},
			status: 201, contains: []string{`"owner":null`, `"customer":"C1"`}, notContains: []string{`"owner":"C1"`, `"date":"2026-01-02"`}},
		{name: "the unowned order is invisible to the customer", as: "u20", method: "GET", path: "/api/v1/records/sales_order/GF5", status: 404},
		{name: "an omitted owner is derived", as: "token", method: "PATCH", path: "/api/v1/records/sales_order/GF5",
			body: map[string]any{"attributes": map[string]any{"number": "N5"}}, status: 200, contains: []string{`"owner":"C1"`, `"date":"2026-01-02"`}},
		{name: "POST with owner null is unowned", as: "token", method: "POST", path: "/api/v1/records/sales_order",
			body:   map[string]any{"id": "GF6", "owner": nil, "date": nil, "attributes": map[string]any{"customer": "C1", "order_date": "2026-01-02"}},
			status: 201, contains: []string{`"owner":null`}, notContains: []string{`"owner":"C1"`, `"date":"2026-01-02"`}},
		{name: "POST without owner derives it", as: "token", method: "POST", path: "/api/v1/records/sales_order",
			body:   map[string]any{"id": "GF7", "attributes": map[string]any{"customer": "C1", "order_date": "2026-01-02"}},
			status: 201, contains: []string{`"owner":"C1"`, `"date":"2026-01-02"`}},
		{name: "a batch with owner null is unowned", as: "token", method: "POST", path: "/api/v1/records:batch",
			body:   map[string]any{"upsert": []any{map[string]any{"type": "sales_order", "id": "GF7", "owner": nil, "attributes": map[string]any{"customer": "C1"}}}},
			status: 200, contains: []string{`"upserted":1`}},
		{name: "the batch-written order is unowned", as: "token", method: "GET", path: "/api/v1/records/sales_order/GF7", status: 200,
			contains: []string{`"owner":null`}, notContains: []string{`"owner":"C1"`}},
	}},
	{name: "requests", scenarios: []scenario{
		{name: "malformed JSON", as: "token", method: "PUT", path: "/api/v1/accounts/C7", body: "{nope", status: 400, code: "invalid"},
		{name: "a batch with bad items names them", as: "token", method: "POST", path: "/api/v1/records:batch",
			body:   map[string]any{"upsert": []any{map[string]any{"type": "sales_order", "id": "OK1"}, map[string]any{"type": "nope", "id": "X"}, map[string]any{"type": "shipment", "id": "S9", "parent": map[string]any{"type": "invoice", "id": "IN1"}}}},
			status: 400, code: "invalid", contains: []string{`"index":1`, `"index":2`}, notContains: []string{`"index":0`}},
		{name: "the bad batch wrote nothing", as: "token", method: "GET", path: "/api/v1/records/sales_order/OK1", status: 404},
		{name: "a batch upserts and deletes", as: "token", method: "POST", path: "/api/v1/records:batch",
			body:   map[string]any{"upsert": []any{map[string]any{"type": "sales_order", "id": "B1", "attributes": map[string]any{"customer": "C2", "order_date": "2026-01-02"}}}, "delete": []any{map[string]any{"type": "sales_order", "id": "missing"}}},
			status: 200, contains: []string{`"upserted":1`, `"deleted":`}},
		{name: "owner and date filled from attributes", as: "token", method: "GET", path: "/api/v1/records/sales_order/B1", status: 200,
			contains: []string{`"owner":"C2"`, `"date":"2026-01-02"`}},
		{name: "an unknown endpoint", as: "token", method: "GET", path: "/api/v1/nothing", status: 404, code: "not_found"},
		{name: "a wrong method", as: "token", method: "PATCH", path: "/api/v1/me", status: 405},
	}},
}

// scenarioGroup is a set of scenarios that share one world.
type scenarioGroup struct {
	name      string
	scenarios []scenario
}

// TestAPIScenarios runs every group on a fresh world per backend and every
// scenario as its own subtest.
func TestAPIScenarios(t *testing.T) {
	for _, g := range scenarioGroups {
		t.Run(g.name, func(t *testing.T) {
			backends(t, func(t *testing.T, env *testEnv) {
				runScenarios(t, env, g.scenarios)
			})
		})
	}
}

// runScenarios runs scenarios in order against env, each as a subtest.
func runScenarios(t *testing.T, env *testEnv, scenarios []scenario) {
	clients := map[string]*client{"": env.anonymous(), "token": env.bearer(),
		"badtoken": {env: env, hc: &http.Client{}, token: "pct_nope"}}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			defer env.use(t)()
			c := clients[sc.as]
			if c == nil {
				c = env.as(sc.as)
				clients[sc.as] = c
			}
			res := c.do(sc.method, sc.path, sc.body)
			if res.status != sc.status {
				t.Fatalf("%s %s as %q: status %d, want %d: %s", sc.method, sc.path, sc.as, res.status, sc.status, res.body)
			}
			if sc.code != "" && res.code() != sc.code {
				t.Errorf("error code %q, want %q: %s", res.code(), sc.code, res.body)
			}
			for _, s := range sc.contains {
				if !strings.Contains(res.body, s) {
					t.Errorf("body lacks %s: %s", s, res.body)
				}
			}
			for _, s := range sc.notContains {
				if strings.Contains(res.body, s) {
					t.Errorf("body must not contain %s: %s", s, res.body)
				}
			}
		})
	}
}
