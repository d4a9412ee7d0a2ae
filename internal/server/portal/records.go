package portal

import (
	"net/http"
	"net/url"
	"sort"

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
	Next      string // URL of the next page
	First     string // URL of the first page, when not on it
	Sort      string
	SortLinks map[string]string // column → its sort link; none for a column the user may not sort on
	SortState map[string]string // the sorted column → "ascending" or "descending" (aria-sort)
	Query     url.Values
	Statuses  []string
	CanCreate bool
	// Download is the API link that downloads the list with the current
	// filters as CSV (every page; the session cookie authenticates it).
	Download string
	// AccountNames names the accounts the user reaches, for the type's
	// owner field column: a name, with the ERP code beside it (portal.md
	// §2). Only accounts the user reaches are there.
	AccountNames map[string]string
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
// the API's filters, sorting and cursor pagination (app.ListRecords within
// the current account's subtree).
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
		if len(vs) == 1 && vs[0] == "" {
			params.Del(k)
		}
	}
	list, err := app.RecordListFromQuery(t.Name, params)
	var res app.RecordPage
	if err == nil {
		list.AsUser, list.Within = v.asUser(), v.current.ID
		if list.Limit == 0 {
			list.Limit = pageSize
		}
		res, err = s.app.ListRecords(r.Context(), c, list)
	}
	if err != nil {
		if e := surface.DomainError(err); e != nil && (e.Code == access.CodeInvalid || e.Code == access.CodeInvalidField) {
			p := v.page(render.TypeTitle(t), t.Name)
			p.Error = e.Message
			p.Data = listData{Type: t, Base: v.accountURL(), Query: params}
			s.rd.Render(w, r, http.StatusBadRequest, "portal_list", p)
			return nil
		}
		return err
	}
	d := listData{Type: t, Base: v.accountURL(), Sort: res.Sort, Query: params, SortLinks: map[string]string{},
		Items: res.Items, CanCreate: v.allows(t.Name, policy.ActionCreate)}
	d.Columns = visibleColumns(t, v.pol.Role(v.current.Role))
	d.AccountNames = v.accountNames()
	if f, ok := t.Fields["status"]; ok {
		d.Statuses = f.Values
	}
	listURL := v.accountURL() + url.PathEscape(t.Name)
	d.Next, d.First = render.PageLinks(listURL, params, params.Get("cursor"), res.Next)
	d.Download = downloadLink(t.Name, params, v.current.ID, v.asUser())
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
		sq := render.CloneValues(params)
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
	d := detailData{Type: t, Record: rec, Base: v.accountURL(), CanEdit: canEdit}
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
// sort of the page, restricted to the current account's subtree, as the
// viewed user in view as.
func downloadLink(typ string, params url.Values, account, asUser string) string {
	q := render.CloneValues(params)
	q.Del("cursor")
	q.Del("limit")
	q.Set("account", account)
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
