package server

import (
	"net/http"
	"net/url"
	"sort"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// portalCtx is who a portal page is for: the signed-in external user, or,
// for staff viewing the portal as someone, that user (read-only).
type portalCtx struct {
	caller   *caller
	subject  access.User
	viewAs   bool
	base     string // URL prefix: "" or /admin/view-as/<user>
	accounts []access.AccountAccess
	current  *access.AccountAccess
	policy   *policy.Policy
	engine   *access.Engine
}

// portal resolves the portal context of a request whose pattern has
// {account} (and {as} for view as). An account the subject cannot act on
// is 404.
func (s *Server) portal(r *http.Request, c *caller) (*portalCtx, error) {
	pc := &portalCtx{caller: c, subject: c.user, policy: s.engine.Policy(), engine: s.engine}
	if as := r.PathValue("as"); as != "" {
		if !c.internal() {
			return nil, access.Errorf(access.CodeForbidden, "view as is for staff")
		}
		u, ok := s.engine.User(as)
		if !ok || u.Kind != access.KindExternal {
			return nil, access.Errorf(access.CodeNotFound, "no such external user")
		}
		pc.subject, pc.viewAs, pc.base = u, true, "/admin/view-as/"+url.PathEscape(as)
	} else if c.internal() {
		return nil, access.Errorf(access.CodeForbidden, "the portal is for customer users; use view as in the console")
	}
	pc.accounts = s.engine.Reach(pc.subject.ID)
	if id := r.PathValue("account"); id != "" {
		for i := range pc.accounts {
			if pc.accounts[i].ID == id {
				pc.current = &pc.accounts[i]
			}
		}
		if pc.current == nil {
			return nil, access.Errorf(access.CodeNotFound, "no such account")
		}
	}
	return pc, nil
}

// page builds the frame of a portal page.
func (pc *portalCtx) page(title, active string) *page {
	p := &page{Title: title, User: &pc.caller.user, Accounts: pc.switcher(), Current: pc.current, Base: pc.base}
	if pc.viewAs {
		p.ViewAs = &pc.subject
	}
	if pc.current == nil {
		return p
	}
	prefix := pc.accountURL()
	for _, t := range pc.policyTypes() {
		p.Nav = append(p.Nav, navItem{Label: typeTitle(t), Href: prefix + t.Name, Current: active == t.Name})
	}
	if pc.current.ManageUsers {
		p.Nav = append(p.Nav, navItem{Label: "Company users", Href: prefix + "users", Current: active == "users"})
	}
	return p
}

// switcher lists the accounts the account switcher offers: the top of each
// reached subtree (an account's page already shows its subtree, so its
// sold-tos and sites would only be noise), plus the current account when a
// deep link opened a sub-account. A user with one company sees no switcher.
func (pc *portalCtx) switcher() []access.AccountAccess {
	reach := map[string]bool{}
	for _, a := range pc.accounts {
		reach[a.ID] = true
	}
	var out []access.AccountAccess
	for _, a := range pc.accounts {
		acct, _ := pc.engine.Account(a.ID)
		if !reach[acct.Parent] || (pc.current != nil && a.ID == pc.current.ID) {
			out = append(out, a)
		}
	}
	return out
}

// policyTypes are the object types the current account allows reading, in
// policy order.
func (pc *portalCtx) policyTypes() []*policy.Type {
	var out []*policy.Type
	for _, t := range pc.pol().Types() {
		if acts := pc.current.Types[t.Name]; len(acts) > 0 && acts[0] == policy.ActionRead {
			out = append(out, t)
		}
	}
	return out
}

func (pc *portalCtx) pol() *policy.Policy { return pc.policy }

func (pc *portalCtx) accountURL() string {
	return pc.base + "/a/" + url.PathEscape(pc.current.ID) + "/"
}

// allows reports whether the current account allows action on typ.
func (pc *portalCtx) allows(typ, action string) bool {
	for _, a := range pc.current.Types[typ] {
		if a == action {
			return true
		}
	}
	return false
}

func typeTitle(t *policy.Type) string {
	if t.Title != "" {
		return t.Title
	}
	return t.Name
}

// scope is the set of accounts the current account's pages show: its
// subtree as far as the subject reaches it.
func (pc *portalCtx) scope(s *Server) map[string]bool {
	reach := map[string]bool{}
	for _, a := range pc.accounts {
		reach[a.ID] = true
	}
	out := map[string]bool{}
	for _, id := range s.engine.Subtree(pc.current.ID) {
		if reach[id] {
			out[id] = true
		}
	}
	return out
}

func (s *Server) handlePortalSwitch(w http.ResponseWriter, r *http.Request, c *caller) error {
	pc, err := s.portal(r, c)
	if err != nil {
		return err
	}
	to := r.URL.Query().Get("account")
	for _, a := range pc.accounts {
		if a.ID == to {
			http.Redirect(w, r, pc.base+"/a/"+url.PathEscape(to)+"/", http.StatusSeeOther)
			return nil
		}
	}
	return access.Errorf(access.CodeNotFound, "no such account")
}

type dashboardData struct {
	Types []*policy.Type
	Base  string
}

// handlePortalHome is an account's start page: the types it offers.
func (s *Server) handlePortalHome(w http.ResponseWriter, r *http.Request, c *caller) error {
	pc, err := s.portal(r, c)
	if err != nil {
		return err
	}
	if pc.current == nil {
		if len(pc.accounts) == 0 {
			s.render(w, r, http.StatusOK, "noaccess", pc.page("No access", ""))
			return nil
		}
		http.Redirect(w, r, pc.base+"/a/"+url.PathEscape(preferredAccount(pc.subject, pc.accounts))+"/", http.StatusSeeOther)
		return nil
	}
	p := pc.page(pc.current.Name, "")
	p.Data = dashboardData{Types: pc.policyTypes(), Base: pc.accountURL()}
	s.render(w, r, http.StatusOK, "portal_home", p)
	return nil
}

// column is a table column of a record list.
type column struct {
	Name, Label string
	Numeric     bool
}

type listData struct {
	Type      *policy.Type
	Base      string
	Columns   []column
	Items     []*access.Record
	Next      string // URL of the next page
	First     string // URL of the first page, when not on it
	Sort      string
	SortLinks map[string]string
	Query     url.Values
	Statuses  []string
	CanCreate bool
}

// visibleColumns are the declared fields a role may see: restricted ones
// only when the current account's role grants them, so no empty price
// column reveals that prices exist.
func visibleColumns(t *policy.Type, role *policy.CompiledRole) []column {
	var granted policy.FieldSet
	if role != nil {
		granted = role.Perm(t).Fields
	}
	names := make([]string, 0, len(t.Fields))
	for n := range t.Fields {
		names = append(names, n)
	}
	sort.SliceStable(names, func(i, j int) bool { return fieldOrder(t, names[i]) < fieldOrder(t, names[j]) })
	var out []column
	for _, n := range names {
		if i := t.RestrictedIndex(n); i >= 0 && !granted.Has(i) {
			continue
		}
		f := t.Fields[n]
		out = append(out, column{Name: n, Label: fieldLabel(n), Numeric: f.Type == policy.FieldNumber})
	}
	return out
}

// fieldOrder keeps the policy's declaration order.
func fieldOrder(t *policy.Type, name string) int {
	for i, f := range t.FieldList {
		if f.Name == name {
			return i
		}
	}
	return len(t.FieldList)
}

// handlePortalList lists the records of one type for the current account,
// with the API's filters, sorting and cursor pagination.
func (s *Server) handlePortalList(w http.ResponseWriter, r *http.Request, c *caller) error {
	pc, err := s.portal(r, c)
	if err != nil {
		return err
	}
	t := s.engine.Policy().Type(r.PathValue("type"))
	if t == nil || pc.current == nil || !pc.allows(t.Name, policy.ActionRead) {
		return access.Errorf(access.CodeNotFound, "no such page")
	}
	params := r.URL.Query()
	params.Del("done")         // a confirmation, rendered by render
	for k, v := range params { // empty form fields mean "no filter"
		if len(v) == 1 && v[0] == "" {
			params.Del(k)
		}
	}
	qr := *r
	qr.URL = &url.URL{Path: r.URL.Path, RawQuery: params.Encode()}
	q, err := s.recordQuery(&qr, t, pc.subject)
	if err != nil {
		if access.ErrorCode(err) == access.CodeInvalid || access.ErrorCode(err) == access.CodeInvalidField {
			p := pc.page(typeTitle(t), t.Name)
			p.Error = err.(*access.Error).Message
			p.Data = listData{Type: t, Base: pc.accountURL(), Query: params}
			s.render(w, r, http.StatusBadRequest, "portal_list", p)
			return nil
		}
		return err
	}
	q.Predicate = q.Predicate.Within(pc.scope(s))
	if q.Limit == 50 && !params.Has("limit") {
		q.Limit = 25
	}
	recs, next, err := s.store.ListRecords(r.Context(), q)
	if err != nil {
		return err
	}
	src, err := s.source(r.Context(), recs...)
	if err != nil {
		return err
	}
	d := listData{Type: t, Base: pc.accountURL(), Sort: q.Sort, Query: params, SortLinks: map[string]string{},
		CanCreate: !pc.viewAs && pc.allows(t.Name, policy.ActionCreate)}
	for _, rec := range recs {
		if v, ok := s.engine.View(pc.subject.ID, rec, src); ok {
			d.Items = append(d.Items, v)
		}
	}
	d.Columns = visibleColumns(t, s.engine.Policy().Role(pc.current.Role))
	if f, ok := t.Fields["status"]; ok {
		d.Statuses = f.Values
	}
	listURL := pc.accountURL() + url.PathEscape(t.Name)
	if next != "" {
		nq := cloneValues(params)
		nq.Set("cursor", next)
		d.Next = listURL + "?" + nq.Encode()
	}
	if params.Has("cursor") {
		fq := cloneValues(params)
		fq.Del("cursor")
		d.First = listURL + "?" + fq.Encode()
	}
	for _, col := range append([]column{{Name: "date"}, {Name: "id"}}, d.Columns...) {
		key := col.Name
		if key != "date" && key != "id" {
			key = "attr." + key
		}
		sq := cloneValues(params)
		sq.Del("cursor")
		if q.Sort == "-"+key {
			sq.Set("sort", key)
		} else {
			sq.Set("sort", "-"+key)
		}
		d.SortLinks[col.Name] = listURL + "?" + sq.Encode()
	}
	p := pc.page(typeTitle(t), t.Name)
	p.Data = d
	s.render(w, r, http.StatusOK, "portal_list", p)
	return nil
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

type detailData struct {
	Type      *policy.Type
	Record    *access.Record
	Base      string
	Fields    []kv
	Lines     []lineTable
	ParentURL string
	CanEdit   bool
}

type kv struct {
	Key   string
	Value any
}

// lineTable renders an array of objects (order lines) as a table.
type lineTable struct {
	Name    string
	Columns []string
	Rows    [][]any
}

// handlePortalRecord shows one record; anything the subject cannot read is
// 404, hidden fields are simply absent.
func (s *Server) handlePortalRecord(w http.ResponseWriter, r *http.Request, c *caller) error {
	pc, err := s.portal(r, c)
	if err != nil {
		return err
	}
	t := s.engine.Policy().Type(r.PathValue("type"))
	if t == nil || pc.current == nil {
		return access.Errorf(access.CodeNotFound, "no such page")
	}
	rec, v, src, err := s.readable(r.Context(), pc.subject, t.Name, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := detailData{Type: t, Record: v, Base: pc.accountURL()}
	if !pc.viewAs {
		_, d.CanEdit = s.engine.WritableFields(pc.subject.ID, rec, src)
	}
	keys := make([]string, 0, len(v.Attributes))
	for k := range v.Attributes {
		keys = append(keys, k)
	}
	sort.SliceStable(keys, func(i, j int) bool {
		return fieldOrder(t, keys[i]) < fieldOrder(t, keys[j]) || (fieldOrder(t, keys[i]) == fieldOrder(t, keys[j]) && keys[i] < keys[j])
	})
	for _, k := range keys {
		if lt, ok := asLineTable(k, v.Attributes[k]); ok {
			d.Lines = append(d.Lines, lt)
			continue
		}
		d.Fields = append(d.Fields, kv{k, v.Attributes[k]})
	}
	if v.Parent != nil {
		d.ParentURL = pc.accountURL() + url.PathEscape(v.Parent.Type) + "/" + url.PathEscape(v.Parent.ID)
	}
	p := pc.page(typeTitle(t)+" "+v.ID, t.Name)
	p.Data = d
	s.render(w, r, http.StatusOK, "portal_record", p)
	return nil
}

// asLineTable turns an array of objects into a table, columns in first-seen
// order.
func asLineTable(name string, v any) (lineTable, bool) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return lineTable{}, false
	}
	lt := lineTable{Name: name}
	seen := map[string]bool{}
	for _, el := range arr {
		m, ok := el.(map[string]any)
		if !ok {
			return lineTable{}, false
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !seen[k] {
				seen[k] = true
				lt.Columns = append(lt.Columns, k)
			}
		}
	}
	for _, el := range arr {
		m := el.(map[string]any)
		row := make([]any, len(lt.Columns))
		for i, c := range lt.Columns {
			row[i] = m[c]
		}
		lt.Rows = append(lt.Rows, row)
	}
	return lt, true
}
