package portal

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// pageSize is a portal list's page when the query names no limit.
const pageSize = 25

// column is a table column of a record list.
type column struct {
	Name, Label string
	Numeric     bool
}

// listData is what portal_list.html receives.
type listData struct {
	Type      *policy.Type
	Base      string
	Columns   []column
	Items     []*access.Record
	Pager     render.Pager
	Sort      string
	SortLinks map[string]string // column → its sort link; none for a column the user may not sort on
	SortState map[string]string // the sorted column → "ascending" or "descending" (aria-sort)
	Query     url.Values
	// Count is the number of records of the list (with its filters and
	// search, exact up to app.CountMax); First and Last number the
	// page's records within it (1-based).
	Count       app.RecordCount
	First, Last int
	// Filters are the declared fields the user may filter on, as selects
	// (fields with values) and ranges (dates, numbers); Stores the
	// accounts below the current one, for a distributor's store filter.
	Selects   []selectFilter
	Ranges    []rangeFilter
	RangesSet bool // some range has a bound: its details start open
	Stores    []option
	StoreKind string // "Store" when every account below is a store, else "Account"
	Filtered  bool   // a search or filter is set: the page offers to clear it
	CanCreate bool
	// Download is the API link that downloads the list with the current
	// filters as CSV (every page; the session cookie authenticates it).
	Download string
	// AccountNames names the accounts the user reaches, for the type's
	// owner field column: a name, with the ERP code beside it (portal.md
	// §2). Only accounts the user reaches are there.
	AccountNames map[string]string
}

// selectFilter is a filter on a field with declared values (attr.<name>).
type selectFilter struct {
	Name, Label string
	Options     []option
}

// rangeFilter is a range filter on a date or number field
// (attr.<name>.from, attr.<name>.to).
type rangeFilter struct {
	Name, Label, Input string // Input is the input type: date or number
	From, To           string
}

// option is a choice of a select; Label is shown as it is, or, with
// Value only, as the value's label of the field.
type option struct {
	Value, Label string
	Selected     bool
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
	sort.SliceStable(names, func(i, j int) bool { return render.FieldOrder(t, names[i]) < render.FieldOrder(t, names[j]) })
	var out []column
	for _, n := range names {
		if i := t.RestrictedIndex(n); i >= 0 && !granted.Has(i) {
			continue
		}
		f := t.Fields[n]
		out = append(out, column{Name: n, Label: render.FieldLabel(n), Numeric: f.Type == policy.FieldNumber})
	}
	return out
}

// handleList lists the records of one type for the current account, with
// the API's filters, search (q), sorting and cursor pagination
// (app.ListRecords within the current account's subtree), the list's
// count (app.CountRecords) and a way back through the pages before
// (render.Paging).
func (s *Surface) handleList(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.portal(r, c)
	if err != nil {
		return err
	}
	t := v.pol.Type(r.PathValue("type"))
	if t == nil || !v.allows(t.Name, policy.ActionRead) {
		return access.Errorf(access.CodeNotFound, "no such page")
	}
	params := r.URL.Query()
	params.Del("done")          // a confirmation, rendered by render
	for k, vs := range params { // empty form fields mean "no filter"
		vs = slices.DeleteFunc(vs, func(x string) bool { return strings.TrimSpace(x) == "" })
		if len(vs) == 0 {
			params.Del(k)
		} else {
			params[k] = vs
		}
	}
	query := render.CloneValues(params)
	query.Del(render.BackParam)
	list, err := app.RecordListFromQuery(t.Name, query)
	var res app.RecordPage
	var count app.RecordCount
	if err == nil {
		list.AsUser, list.Within = v.asUser(), v.current.ID
		if list.Limit == 0 {
			list.Limit = pageSize
		}
		res, err = s.app.ListRecords(r.Context(), c, list)
	}
	switch {
	case err == nil && list.Cursor == "" && res.Next == "":
		// The first page is the whole list: its length is the count.
		count = app.RecordCount{N: len(res.Items)}
	case err == nil:
		count, err = s.app.CountRecords(r.Context(), c, list)
	}
	d := listData{Type: t, Base: v.accountURL(), Query: params, Count: count}
	s.listFilters(&d, v, params)
	if err != nil {
		if e := surface.DomainError(err); e != nil && (e.Code == access.CodeInvalid || e.Code == access.CodeInvalidField) {
			p := v.page(render.TypeTitle(t), t.Name)
			p.Error = e.Message
			p.Data = d
			s.rd.Render(w, r, http.StatusBadRequest, "portal_list", p)
			return nil
		}
		return err
	}
	d.Sort, d.SortLinks, d.Items = res.Sort, map[string]string{}, res.Items
	d.CanCreate = v.allows(t.Name, policy.ActionCreate)
	d.Columns = visibleColumns(t, v.pol.Role(v.current.Role))
	d.AccountNames = v.accountNames()
	listURL := v.accountURL() + url.PathEscape(t.Name)
	d.Pager = render.Paging(listURL, params, res.Next)
	if len(d.Items) > 0 {
		d.First = d.Pager.Depth*list.Limit + 1
		d.Last = d.First + len(d.Items) - 1
	}
	d.Download = downloadLink(t.Name, query, v.current.ID, v.asUser())
	// Sort links only where the user may sort: a restricted field that one
	// of its role contexts hides (a multi-customer user with prices in one
	// account only) is a column here but no sort key (app.ExportFields).
	sortable := map[string]bool{"date": true, "id": true}
	for _, f := range s.app.ExportFields(res.Subject, t.Name) {
		sortable[f.Name] = true
	}
	d.SortState = map[string]string{}
	for _, col := range append([]column{{Name: "date"}, {Name: "id"}}, d.Columns...) {
		if !sortable[col.Name] {
			continue
		}
		key := col.Name
		if key != "date" && key != "id" {
			key = "attr." + key
		}
		switch res.Sort {
		case key:
			d.SortState[col.Name] = "ascending"
		case "-" + key:
			d.SortState[col.Name] = "descending"
		}
		sq := render.CloneValues(query)
		sq.Del("cursor")
		if res.Sort == "-"+key {
			sq.Set("sort", key)
		} else {
			sq.Set("sort", "-"+key)
		}
		d.SortLinks[col.Name] = listURL + "?" + sq.Encode()
	}
	p := v.page(render.TypeTitle(t), t.Name)
	p.Data = d
	s.rd.Render(w, r, http.StatusOK, "portal_list", p)
	return nil
}

// listFilters fills d's filters from the fields the subject may filter on
// (app.ExportFields: a restricted field one of its role contexts hides
// gets no filter), with params' values: a select for each field with
// declared values, a range for each date and number field, and the
// accounts below the current one (a distributor's stores). The owner
// field gets no select: the store filter is that question.
func (s *Surface) listFilters(d *listData, v *view, params url.Values) {
	t := d.Type
	for _, f := range s.app.ExportFields(v.subject, t.Name) {
		switch {
		case f.Name == t.OwnerField:
		case len(f.Values) > 0:
			sf := selectFilter{Name: f.Name, Label: render.FieldLabel(f.Name)}
			for _, val := range f.Values {
				sf.Options = append(sf.Options, option{Value: val, Selected: slices.Contains(params["attr."+f.Name], val)})
			}
			d.Selects = append(d.Selects, sf)
		case f.Type == policy.FieldDate || f.Type == policy.FieldNumber:
			rf := rangeFilter{Name: f.Name, Label: render.FieldLabel(f.Name), Input: string(f.Type),
				From: params.Get("attr." + f.Name + ".from"), To: params.Get("attr." + f.Name + ".to")}
			d.RangesSet = d.RangesSet || rf.From != "" || rf.To != ""
			d.Ranges = append(d.Ranges, rf)
		}
	}
	scope := v.scope()
	stores, allStores := []option{}, true
	for _, aa := range v.accounts {
		if !scope[aa.ID] || aa.ID == v.current.ID {
			continue
		}
		acct, _ := v.eng.Account(aa.ID)
		allStores = allStores && acct.Kind == "store"
		stores = append(stores, option{Value: aa.ID, Label: aa.Name + " (" + aa.ID + ")", Selected: params.Get("account") == aa.ID})
	}
	sort.Slice(stores, func(i, j int) bool { return stores[i].Label < stores[j].Label })
	if len(stores) > 0 {
		d.Stores, d.StoreKind = stores, "Account"
		if allStores {
			d.StoreKind = "Store"
		}
	}
	for k := range params {
		if k == "q" || k == "account" || k == "date_from" || k == "date_to" || strings.HasPrefix(k, "attr.") {
			d.Filtered = true
		}
	}
}

// detailData is what portal_record.html receives.
type detailData struct {
	Type      *policy.Type
	Record    *access.Record
	Base      string
	Fields    []kv
	Lines     []render.LineTable
	ParentURL string
	CanEdit   bool
	// Related are the record's visible children (records.md §3).
	Related []app.RelatedList
	// Talk is the record's conversation and files (nil when the type has
	// neither).
	Talk *render.Talk
	// AccountNames names the accounts the user reaches: the record's
	// owner and the type's owner field show the name, the code beside it.
	AccountNames map[string]string
	// CreatorName is the record's creator as the user may see it.
	CreatorName string
}

// relatedLimit is how many children of each type a record page shows.
const relatedLimit = 20

type kv struct {
	Key   string
	Value any
}

// handleRecord shows one record; anything the subject cannot read is 404,
// hidden fields are simply absent. The Edit button is offered when the
// subject may update it (never under view as).
func (s *Surface) handleRecord(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return s.renderRecord(w, r, c, http.StatusOK, "")
}

// renderRecord renders the record page with status and, for a form of
// the page that failed, its error message.
func (s *Surface) renderRecord(w http.ResponseWriter, r *http.Request, c *app.Actor, status int, formError string) error {
	v, err := s.portal(r, c)
	if err != nil {
		return err
	}
	t := v.pol.Type(r.PathValue("type"))
	if t == nil {
		return access.Errorf(access.CodeNotFound, "no such page")
	}
	id := r.PathValue("id")
	if err := s.inAccount(r, c, v, t.Name, id); err != nil {
		return err
	}
	// Under view as the page shows the buttons the user has (portal.md §6):
	// they open the same pages, read-only.
	rec, _, err := s.app.EditRecord(r.Context(), c, t.Name, id, v.asUser())
	canEdit := err == nil
	if access.ErrorCode(err) == access.CodeForbidden {
		err = nil // readable, not writable
	}
	if err != nil {
		return err
	}
	if rec == nil {
		if rec, _, err = s.app.GetRecord(r.Context(), c, t.Name, id, v.asUser()); err != nil {
			return err
		}
	}
	d := detailData{Type: t, Record: rec, Base: v.accountURL(), CanEdit: canEdit, AccountNames: v.accountNames()}
	keys := make([]string, 0, len(rec.Attributes))
	for k := range rec.Attributes {
		keys = append(keys, k)
	}
	sort.SliceStable(keys, func(i, j int) bool {
		return render.FieldOrder(t, keys[i]) < render.FieldOrder(t, keys[j]) || (render.FieldOrder(t, keys[i]) == render.FieldOrder(t, keys[j]) && keys[i] < keys[j])
	})
	for _, k := range keys {
		if lt, ok := render.AsLineTable(k, rec.Attributes[k]); ok {
			d.Lines = append(d.Lines, lt)
			continue
		}
		d.Fields = append(d.Fields, kv{k, rec.Attributes[k]})
	}
	if rec.Creator != "" {
		if d.CreatorName, err = s.app.PersonName(c, v.asUser(), rec.Creator); err != nil {
			return err
		}
	}
	if rec.Parent != nil {
		d.ParentURL = v.accountURL() + url.PathEscape(rec.Parent.Type) + "/" + url.PathEscape(rec.Parent.ID)
	}
	if d.Related, err = s.app.RelatedRecords(r.Context(), c, t.Name, rec.ID, v.asUser(), relatedLimit); err != nil {
		return err
	}
	if d.Talk, err = s.talk(r, c, v, t, rec.ID, canEdit); err != nil {
		return err
	}
	p := v.page(render.TypeTitle(t)+" "+rec.ID, t.Name)
	p.Data, p.Error = d, formError
	s.rd.Render(w, r, status, "portal_record", p)
	return nil
}

// downloadLink is the API URL of the list's CSV file: the filters and
// sort of the page, within the current account as the list is (records
// shared with it included), as the viewed user in view as.
func downloadLink(typ string, params url.Values, account, asUser string) string {
	q := render.CloneValues(params)
	q.Del("cursor")
	q.Del("limit")
	q.Set("within", account)
	if asUser != "" {
		q.Set("as_user", asUser)
	}
	q.Set("format", "csv")
	return "/api/v1/records/" + url.PathEscape(typ) + "?" + q.Encode()
}

// inAccount answers CodeNotFound unless the subject sees the record
// through the page's account (app.RecordInAccount): a record of another of
// its accounts is not on this account's pages.
func (s *Surface) inAccount(r *http.Request, c *app.Actor, v *view, typ, id string) error {
	ok, err := s.app.RecordInAccount(r.Context(), c, typ, id, v.asUser(), v.current.ID)
	if err != nil {
		return err
	}
	if !ok {
		return access.Errorf(access.CodeNotFound, "%s %s not found", typ, id)
	}
	return nil
}
