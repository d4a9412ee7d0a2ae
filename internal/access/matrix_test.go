package access_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// A matrix is a small world and the decisions expected in it, read from
// testdata/*.yaml. The format is documented in testdata/README.md.
type matrix struct {
	Name   string    `yaml:"name"`
	Now    time.Time `yaml:"now"`
	Policy string    `yaml:"policy"` // inline YAML; empty: the default policy
	World  world     `yaml:"world"`
	Checks checks    `yaml:"checks"`
	Then   []phase   `yaml:"then"`
}

type world struct {
	Accounts []mAccount      `yaml:"accounts"`
	Users    []mUser         `yaml:"users"`
	Groups   []mGroup        `yaml:"groups"`
	Grants   []mGrant        `yaml:"grants"`
	Records  []access.Record `yaml:"records"`
}

type mAccount struct {
	ID             string `yaml:"id"`
	Name           string `yaml:"name"`
	Kind           string `yaml:"kind"`
	Parent         string `yaml:"parent"`
	ExternalAccess bool   `yaml:"external_access"`
	Inherit        *bool  `yaml:"inherit"` // default true
}

func (a mAccount) account() access.Account {
	return access.Account{ID: a.ID, Name: a.Name, Kind: a.Kind, Parent: a.Parent,
		ExternalAccess: a.ExternalAccess, Inherit: a.Inherit == nil || *a.Inherit}
}

type mUser struct {
	ID          string                         `yaml:"id"`
	Kind        string                         `yaml:"kind"`   // default external
	Status      string                         `yaml:"status"` // default active
	HomeAccount string                         `yaml:"home_account"`
	StaffRole   string                         `yaml:"staff_role"`
	Constraints map[string]map[string][]string `yaml:"constraints"`
	Email       string                         `yaml:"email"` // default <id>@example.com
}

func (u mUser) user() access.User {
	out := access.User{ID: u.ID, Kind: u.Kind, Status: u.Status, HomeAccount: u.HomeAccount,
		StaffRole: u.StaffRole, Constraints: u.Constraints, Email: u.Email, Name: u.ID}
	if out.Email == "" {
		out.Email = u.ID + "@example.com"
	}
	if out.Kind == "" {
		out.Kind = access.KindExternal
	}
	if out.Status == "" {
		out.Status = access.StatusActive
	}
	return out
}

type mGroup struct {
	ID      string   `yaml:"id"`
	Account string   `yaml:"account"`
	Members []string `yaml:"members"`
}

type mGrant struct {
	ID         string     `yaml:"id"`
	Principal  string     `yaml:"principal"`
	Account    string     `yaml:"account"`
	Role       string     `yaml:"role"`
	Scope      string     `yaml:"scope"`
	Access     string     `yaml:"access"`
	DaysBack   *int       `yaml:"days_back"`
	ValidFrom  *time.Time `yaml:"valid_from"`
	ValidUntil *time.Time `yaml:"valid_until"`
	Notes      string     `yaml:"notes"`
}

func (g mGrant) grant() access.Grant {
	out := access.Grant{ID: g.ID, Principal: g.Principal, Account: g.Account, Role: g.Role, Scope: g.Scope,
		Access: g.Access, DaysBack: g.DaysBack, ValidFrom: g.ValidFrom, ValidUntil: g.ValidUntil, Notes: g.Notes}
	if out.Scope == "" {
		out.Scope = access.ScopeSubtree
	}
	if out.Access == "" {
		out.Access = access.AccessReadWrite
	}
	return out
}

type checks struct {
	Decide []decideCheck `yaml:"decide"`
	List   []listCheck   `yaml:"list"`
	View   []viewCheck   `yaml:"view"`
	Create []createCheck `yaml:"create"`
	Update []updateCheck `yaml:"update"`
	Write  []writeCheck  `yaml:"write"`
	Grant  []grantCheck  `yaml:"grant"`
	User   []userCheck   `yaml:"user"`
	Member []memberCheck `yaml:"member"`
	Filter []filterCheck `yaml:"filterable"`
}

// decideCheck asserts Allowed, Check, Explain and the Predicate agree with
// the expectation. Reasons, paths and fields are compared only when given.
type decideCheck struct {
	User    string   `yaml:"user"`
	Record  string   `yaml:"record"` // type/id
	Action  string   `yaml:"action"` // default read
	Allowed bool     `yaml:"allowed"`
	Fields  []string `yaml:"fields"`  // visible restricted fields
	Reasons []string `yaml:"reasons"` // explain codes on deny
	Paths   []string `yaml:"paths"`   // explain path kinds on allow
	Message string   `yaml:"message"` // a substring of some reason's message
}

// listCheck asserts which records of a type match the user's predicate.
type listCheck struct {
	User    string   `yaml:"user"`
	Type    string   `yaml:"type"`
	Action  string   `yaml:"action"`
	Records []string `yaml:"records"` // ids
}

// viewCheck asserts the record as the user sees it.
type viewCheck struct {
	User       string         `yaml:"user"`
	Record     string         `yaml:"record"`
	Visible    *bool          `yaml:"visible"` // default true
	Owner      string         `yaml:"owner"`
	Creator    string         `yaml:"creator"`
	Parent     string         `yaml:"parent"`
	Attributes map[string]any `yaml:"attributes"`
}

type createCheck struct {
	User       string         `yaml:"user"`
	Type       string         `yaml:"type"`
	Account    string         `yaml:"account"`
	Attributes map[string]any `yaml:"attributes"`
	Error      string         `yaml:"error"` // expected code, "" for allowed
}

type updateCheck struct {
	User       string         `yaml:"user"`
	Record     string         `yaml:"record"`
	Attributes map[string]any `yaml:"attributes"`
	Error      string         `yaml:"error"`
}

// writeCheck is the writable-fields decision of records.md §1: a create
// (type and account) or an update (record, attributes a merge patch onto
// it) by user, decided by CanCreate or WritableFields and CheckWrite.
type writeCheck struct {
	User       string         `yaml:"user"`
	Type       string         `yaml:"type"`
	Account    string         `yaml:"account"`
	Record     string         `yaml:"record"`
	Attributes map[string]any `yaml:"attributes"`
	Error      string         `yaml:"error"`
	// Message, when given, is the error's message exactly.
	Message string `yaml:"message"`
	// Writable, when given, is exactly what Writer.Writable lists.
	Writable []string `yaml:"writable"`
}

type grantCheck struct {
	Actor string  `yaml:"actor"`
	Old   string  `yaml:"old"`   // existing grant id, for update and delete
	Grant *mGrant `yaml:"grant"` // the new grant; absent: delete
	Error string  `yaml:"error"`
	Why   string  `yaml:"why"`
}

type userCheck struct {
	Actor string `yaml:"actor"`
	Old   string `yaml:"old"`
	User  *mUser `yaml:"user"`
	Error string `yaml:"error"`
	Why   string `yaml:"why"`
}

// memberCheck asserts CheckMembership: whether actor may add user to
// group or remove it from there.
type memberCheck struct {
	Actor string `yaml:"actor"`
	Group string `yaml:"group"`
	User  string `yaml:"user"`
	Error string `yaml:"error"`
	Why   string `yaml:"why"`
}

type filterCheck struct {
	User   string   `yaml:"user"`
	Type   string   `yaml:"type"`
	Fields []string `yaml:"fields"`
}

// phase applies changes, then checks.
type phase struct {
	Name    string   `yaml:"name"`
	Changes []change `yaml:"changes"`
	Checks  checks   `yaml:"checks"`
}

type change struct {
	PutAccount   *mAccount      `yaml:"put_account"`
	PutUser      *mUser         `yaml:"put_user"`
	PutGrant     *mGrant        `yaml:"put_grant"`
	DeleteGrant  string         `yaml:"delete_grant"`
	AddMember    []string       `yaml:"add_member"` // [group, user]
	RemoveMember []string       `yaml:"remove_member"`
	PutRecord    *access.Record `yaml:"put_record"`
	Advance      string         `yaml:"advance"` // a Go duration added to the clock
}

func TestMatrices(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no matrices: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) { runMatrix(t, f) })
	}
}

type env struct {
	e       *access.Engine
	now     time.Time
	records access.RecordMap
	order   []access.Ref
}

func runMatrix(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m matrix
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	pol := policy.Default()
	if m.Policy != "" {
		doc, err := policy.Parse([]byte(m.Policy))
		if err != nil {
			t.Fatal(err)
		}
		if pol, err = policy.Compile(doc); err != nil {
			t.Fatal(err)
		}
	}
	if m.Now.IsZero() {
		t.Fatal("matrix needs now")
	}
	ev := &env{now: m.Now, records: access.RecordMap{}}
	ev.e = access.NewEngine(pol, func() time.Time { return ev.now })
	var snap access.Snapshot
	for _, a := range m.World.Accounts {
		snap.Accounts = append(snap.Accounts, a.account())
	}
	for _, u := range m.World.Users {
		snap.Users = append(snap.Users, u.user())
	}
	for _, g := range m.World.Groups {
		snap.Groups = append(snap.Groups, access.Group{ID: g.ID, Account: g.Account, Name: g.ID})
		for _, u := range g.Members {
			snap.Members = append(snap.Members, [2]string{g.ID, u})
		}
	}
	for _, g := range m.World.Grants {
		snap.Grants = append(snap.Grants, g.grant())
	}
	if err := ev.e.Load(snap); err != nil {
		t.Fatalf("load: %v", err)
	}
	for i := range m.World.Records {
		ev.putRecord(&m.World.Records[i])
	}
	ev.run(t, "initial", m.Checks)
	for i, p := range m.Then {
		name := p.Name
		if name == "" {
			name = "phase " + string(rune('1'+i))
		}
		for _, c := range p.Changes {
			if err := ev.apply(c); err != nil {
				t.Fatalf("%s: change %+v: %v", name, c, err)
			}
		}
		ev.run(t, name, p.Checks)
	}
}

func (ev *env) putRecord(r *access.Record) {
	ref := access.Ref{Type: r.Type, ID: r.ID}
	if _, ok := ev.records[ref]; !ok {
		ev.order = append(ev.order, ref)
	}
	ev.records[ref] = r
}

func (ev *env) apply(c change) error {
	switch {
	case c.PutAccount != nil:
		return ev.e.PutAccount(c.PutAccount.account())
	case c.PutUser != nil:
		return ev.e.PutUser(c.PutUser.user())
	case c.PutGrant != nil:
		return ev.e.PutGrant(c.PutGrant.grant())
	case c.DeleteGrant != "":
		return ev.e.DeleteGrant(c.DeleteGrant)
	case len(c.AddMember) == 2:
		return ev.e.AddMember(c.AddMember[0], c.AddMember[1])
	case len(c.RemoveMember) == 2:
		return ev.e.RemoveMember(c.RemoveMember[0], c.RemoveMember[1])
	case c.PutRecord != nil:
		ev.putRecord(c.PutRecord)
		return nil
	case c.Advance != "":
		d, err := time.ParseDuration(c.Advance)
		ev.now = ev.now.Add(d)
		return err
	}
	return nil
}

func (ev *env) record(t *testing.T, ref string) *access.Record {
	t.Helper()
	typ, id, _ := strings.Cut(ref, "/")
	r := ev.records[access.Ref{Type: typ, ID: id}]
	if r == nil {
		t.Fatalf("no record %s", ref)
	}
	return r
}

func action(t *testing.T, name string) policy.Actions {
	t.Helper()
	if name == "" {
		return policy.Read
	}
	a, ok := policy.ParseAction(name)
	if !ok {
		t.Fatalf("bad action %q", name)
	}
	return a
}

func codeOf(err error) string { return access.ErrorCode(err) }

func (ev *env) run(t *testing.T, phase string, c checks) {
	for _, dc := range c.Decide {
		r := ev.record(t, dc.Record)
		a := action(t, dc.Action)
		where := phase + ": " + dc.User + " " + dc.Action + " " + dc.Record
		if got := ev.e.Allowed(dc.User, r, a, ev.records); got != dc.Allowed {
			t.Errorf("%s: Allowed = %v, want %v", where, got, dc.Allowed)
		}
		ok, fields := ev.e.Check(dc.User, r, a, ev.records)
		if ok != dc.Allowed {
			t.Errorf("%s: Check = %v, want %v", where, ok, dc.Allowed)
		}
		if p, err := ev.e.Predicate(dc.User, r.Type, a); err != nil {
			t.Errorf("%s: Predicate: %v", where, err)
		} else if got := p.Matches(r, ev.records); got != dc.Allowed {
			t.Errorf("%s: Predicate matches = %v, want %v", where, got, dc.Allowed)
		}
		x, err := ev.e.Explain(dc.User, r, a, ev.records)
		if err != nil {
			t.Errorf("%s: Explain: %v", where, err)
			continue
		}
		if x.Allowed != dc.Allowed {
			t.Errorf("%s: Explain.Allowed = %v, want %v (reasons %v)", where, x.Allowed, dc.Allowed, x.Reasons)
		}
		if dc.Fields != nil {
			if diff := cmp.Diff(sorted(dc.Fields), sorted(fields)); diff != "" {
				t.Errorf("%s: Check fields (-want +got):\n%s", where, diff)
			}
			if diff := cmp.Diff(sorted(dc.Fields), sorted(x.Fields.Visible)); diff != "" && dc.Allowed && a == policy.Read {
				t.Errorf("%s: Explain visible fields (-want +got):\n%s", where, diff)
			}
		}
		if dc.Reasons != nil {
			var got []string
			for _, r := range x.Reasons {
				got = append(got, r.Code)
			}
			if diff := cmp.Diff(sorted(dc.Reasons), sorted(uniq(got))); diff != "" {
				t.Errorf("%s: reasons (-want +got):\n%s\n%v", where, diff, x.Reasons)
			}
		}
		if dc.Paths != nil {
			var got []string
			for _, p := range x.Paths {
				got = append(got, p.Kind)
			}
			if diff := cmp.Diff(sorted(dc.Paths), sorted(uniq(got))); diff != "" {
				t.Errorf("%s: paths (-want +got):\n%s", where, diff)
			}
		}
		if dc.Message != "" {
			found := false
			for _, r := range x.Reasons {
				found = found || strings.Contains(r.Message, dc.Message)
			}
			if !found {
				t.Errorf("%s: no reason mentions %q: %v", where, dc.Message, x.Reasons)
			}
		}
	}
	for _, lc := range c.List {
		p, err := ev.e.Predicate(lc.User, lc.Type, action(t, lc.Action))
		if err != nil {
			t.Errorf("%s: Predicate: %v", phase, err)
			continue
		}
		got := []string{}
		for _, ref := range ev.order {
			if r := ev.records[ref]; ref.Type == lc.Type && p.Matches(r, ev.records) {
				got = append(got, ref.ID)
				if !ev.e.Allowed(lc.User, r, action(t, lc.Action), ev.records) {
					t.Errorf("%s: predicate of %s matches %s/%s but Allowed says no", phase, lc.User, ref.Type, ref.ID)
				}
			}
		}
		if diff := cmp.Diff(sorted(append([]string{}, lc.Records...)), sorted(got)); diff != "" {
			t.Errorf("%s: list %s as %s (-want +got):\n%s", phase, lc.Type, lc.User, diff)
		}
	}
	for _, vc := range c.View {
		r := ev.record(t, vc.Record)
		v, ok := ev.e.View(vc.User, r, ev.records)
		want := vc.Visible == nil || *vc.Visible
		if ok != want {
			t.Errorf("%s: View %s as %s: visible = %v, want %v", phase, vc.Record, vc.User, ok, want)
			continue
		}
		if !ok {
			continue
		}
		if v.Owner != vc.Owner || v.Creator != vc.Creator {
			t.Errorf("%s: View %s as %s: owner %q creator %q, want %q %q", phase, vc.Record, vc.User, v.Owner, v.Creator, vc.Owner, vc.Creator)
		}
		parent := ""
		if v.Parent != nil {
			parent = v.Parent.Type + "/" + v.Parent.ID
		}
		if parent != vc.Parent {
			t.Errorf("%s: View %s as %s: parent %q, want %q", phase, vc.Record, vc.User, parent, vc.Parent)
		}
		if len(v.Teams) != 0 && ev.isExternal(vc.User) {
			t.Errorf("%s: View %s as %s shows teams", phase, vc.Record, vc.User)
		}
		if vc.Attributes != nil {
			if diff := cmp.Diff(normJSON(t, vc.Attributes), normJSON(t, v.Attributes)); diff != "" {
				t.Errorf("%s: View %s as %s attributes (-want +got):\n%s", phase, vc.Record, vc.User, diff)
			}
		}
		if diff := cmp.Diff(normJSON(t, ev.record(t, vc.Record).Attributes), normJSON(t, r.Attributes)); diff != "" {
			t.Errorf("View modified the stored record")
		}
	}
	for _, cc := range c.Create {
		where := phase + ": " + cc.User + " creates " + cc.Type + " under " + cc.Account
		fields, err := ev.e.CanCreate(cc.User, cc.Type, cc.Account)
		if err == nil {
			u, _ := ev.e.User(cc.User)
			err = access.CheckConstraints(u, cc.Type, cc.Attributes)
		}
		if err == nil {
			err = access.CheckFieldWrites(ev.e.Policy().Type(cc.Type), fields.Fields, cc.Attributes)
		}
		if codeOf(err) != cc.Error {
			t.Errorf("%s: error %v, want %q", where, err, cc.Error)
		}
	}
	for _, uc := range c.Update {
		where := phase + ": " + uc.User + " updates " + uc.Record
		r := ev.record(t, uc.Record)
		var err error
		if !ev.e.Allowed(uc.User, r, policy.Read, ev.records) {
			err = access.Errorf(access.CodeNotFound, "not found")
		} else if fields, ok := ev.e.WritableFields(uc.User, r, ev.records); !ok {
			err = access.Errorf(access.CodeForbidden, "read only")
		} else {
			u, _ := ev.e.User(uc.User)
			if err = access.CheckConstraints(u, r.Type, uc.Attributes); err == nil {
				err = access.CheckFieldWrites(ev.e.Policy().Type(r.Type), fields.Fields, uc.Attributes)
			}
		}
		if codeOf(err) != uc.Error {
			t.Errorf("%s: error %v, want %q", where, err, uc.Error)
		}
	}
	for _, wc := range c.Write {
		ev.checkWrite(t, phase, wc)
	}
	for _, gc := range c.Grant {
		var old, next *access.Grant
		if gc.Old != "" {
			g, ok := ev.e.Grant(gc.Old)
			if !ok {
				t.Fatalf("%s: no grant %s", phase, gc.Old)
			}
			old = &g
		}
		if gc.Grant != nil {
			g := gc.Grant.grant()
			if old != nil && g.ID == "" {
				g.ID = old.ID
			}
			next = &g
		}
		err := ev.e.CheckGrant(gc.Actor, old, next)
		if codeOf(err) != gc.Error {
			t.Errorf("%s: %s: CheckGrant by %s (old %s): error %v, want %q", phase, gc.Why, gc.Actor, gc.Old, err, gc.Error)
		}
	}
	for _, uc := range c.User {
		var old, next *access.User
		if uc.Old != "" {
			u, ok := ev.e.User(uc.Old)
			if !ok {
				t.Fatalf("%s: no user %s", phase, uc.Old)
			}
			old = &u
		}
		if uc.User != nil {
			u := uc.User.user()
			next = &u
		}
		err := ev.e.CheckUser(uc.Actor, old, next)
		if codeOf(err) != uc.Error {
			t.Errorf("%s: %s: CheckUser by %s (old %s): error %v, want %q", phase, uc.Why, uc.Actor, uc.Old, err, uc.Error)
		}
	}
	for _, mc := range c.Member {
		err := ev.e.CheckMembership(mc.Actor, mc.Group, mc.User)
		if codeOf(err) != mc.Error {
			t.Errorf("%s: %s: CheckMembership by %s (%s in %s): error %v, want %q", phase, mc.Why, mc.Actor, mc.User, mc.Group, err, mc.Error)
		}
	}
	for _, fc := range c.Filter {
		typ := ev.e.Policy().Type(fc.Type)
		got := typ.FieldNames(ev.e.FilterableFields(fc.User, fc.Type))
		if diff := cmp.Diff(sorted(fc.Fields), sorted(got)); diff != "" {
			t.Errorf("%s: filterable %s for %s (-want +got):\n%s", phase, fc.Type, fc.User, diff)
		}
	}
}

func (ev *env) checkWrite(t *testing.T, phase string, wc writeCheck) {
	t.Helper()
	attrs := normJSON(t, wc.Attributes).(map[string]any)
	var (
		w        access.Writer
		typ      *policy.Type
		old      map[string]any
		err      error
		where    string
		writable = true
	)
	if wc.Record != "" {
		where = phase + ": " + wc.User + " writes " + wc.Record
		r := ev.record(t, wc.Record)
		typ = ev.e.Policy().Type(r.Type)
		old = normJSON(t, r.Attributes).(map[string]any)
		w, writable = ev.e.WritableFields(wc.User, r, ev.records)
		if !writable {
			err = access.Errorf(access.CodeForbidden, "read only")
		}
	} else {
		where = phase + ": " + wc.User + " creates " + wc.Type + " under " + wc.Account
		typ = ev.e.Policy().Type(wc.Type)
		w, err = ev.e.CanCreate(wc.User, wc.Type, wc.Account)
	}
	if err == nil {
		err = access.CheckWrite(typ, w, old, access.MergePatch(old, attrs))
	}
	if codeOf(err) != wc.Error {
		t.Errorf("%s %v: error %v, want %q", where, wc.Attributes, err, wc.Error)
	}
	if wc.Message != "" && (err == nil || err.(*access.Error).Message != wc.Message) {
		t.Errorf("%s %v: error %v, want message %q", where, wc.Attributes, err, wc.Message)
	}
	if wc.Writable != nil {
		var got []string
		for _, p := range w.Writable(typ) {
			got = append(got, p.Path)
		}
		if diff := cmp.Diff(sorted(wc.Writable), sorted(got)); diff != "" {
			t.Errorf("%s: writable (-want +got):\n%s", where, diff)
		}
	}
}

func (ev *env) isExternal(id string) bool {
	u, _ := ev.e.User(id)
	return u.Kind == access.KindExternal
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func uniq(s []string) []string {
	s = sorted(s)
	out := []string{}
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// normJSON makes YAML- and JSON-decoded values comparable.
func normJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
