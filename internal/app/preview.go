package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
	"golang.org/x/sync/errgroup"
)

// Impact preview (governance.md §1): what a list of access changes would
// do, applied together in order, computed on a copy of the engine and
// counted in the database; nothing is written and nothing is audited.
//
// Each change is validated and authorized as the real change would be at
// that point of the list (the same use-case checks, run against the copy
// with the earlier changes applied), so an invalid or forbidden change is
// the same error as making it. The users affected are those whose
// predicate for some (type, action) differs before and after; a customer
// admin sees only the users homed within the accounts it administers.

// MaxPreviewChanges is the most changes one preview may hold.
const MaxPreviewChanges = 100

// PreviewSample is how many record ids an effect's samples hold at most.
const PreviewSample = 10

// PreviewChange is one change of a preview: Op is grant.create (Grant),
// grant.update (ID, Patch: a grant's fields), grant.delete (ID),
// account.update (ID, Patch: external_access, inherit, parent),
// group.add_member and group.remove_member (Group, User), user.update (ID,
// Patch: status) or policy.replace (Document, YAML or JSON).
type PreviewChange struct {
	Op       string          `json:"op"`
	Grant    *GrantUpdate    `json:"grant,omitempty"`
	ID       string          `json:"id,omitempty"`
	Patch    json.RawMessage `json:"patch,omitempty"`
	Group    string          `json:"group,omitempty"`
	User     string          `json:"user,omitempty"`
	Document string          `json:"document,omitempty"`
}

// Preview is the answer of a preview.
type Preview struct {
	// Revision is the revision the "before" state reflects.
	Revision int64 `json:"revision"`
	// Users is the number of users with at least one effect.
	Users    int              `json:"users"`
	Effects  []PreviewEffect  `json:"effects"`
	Warnings []PreviewWarning `json:"warnings"`
}

// PreviewEffect is what the changes do to one user's action on one type:
// Gained and Lost count the records whose decision flips (exactly),
// samples hold up to PreviewSample of their ids, newest first. On the read
// effect, FieldsGained names the restricted fields visible after the
// change on some record on which they were not visible before (the record
// unreadable before included), FieldsLost the reverse; they are empty on
// update and delete.
type PreviewEffect struct {
	User         string   `json:"user"`
	Type         string   `json:"type"`
	Action       string   `json:"action"`
	Gained       int      `json:"gained"`
	Lost         int      `json:"lost"`
	SampleGained []string `json:"sample_gained"`
	SampleLost   []string `json:"sample_lost"`
	FieldsGained []string `json:"fields_gained"`
	FieldsLost   []string `json:"fields_lost"`
}

// PreviewWarning is one warning of a preview.
type PreviewWarning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// What the message says, for pages that word it themselves (not in
	// the answer): the user, type, role and account it names and, for
	// broad_exposure, the records gained of all of the type's.
	User, Type, Role, Account string `json:"-"`
	Gained, Total             int    `json:"-"`
}

// Warning codes of a preview.
const (
	WarnBroadExposure = "broad_exposure"
	WarnFieldsExposed = "fields_exposed"
	WarnOwnerAffected = "owner_affected"
)

// previewActions are the actions a preview decides, in answer order.
var previewActions = []struct {
	name string
	act  policy.Actions
}{{"delete", policy.Delete}, {"read", policy.Read}, {"update", policy.Update}}

// previewRun is the state of one preview: the copy of the engine the
// changes are applied to, an App over it for the use cases' checks, and
// what the changes touched.
type previewRun struct {
	a, pa      *App
	after      *access.Engine
	candidates map[string]bool
	warnings   []PreviewWarning
}

// PreviewChanges answers what changes would do without writing anything.
// Who may preview a change is who may make it; errors are those of the
// first change that fails (its message prefixed with "changes[i]: "), and
// CodeInvalid for an empty list, more than MaxPreviewChanges or an unknown
// op.
func (a *App) PreviewChanges(ctx context.Context, c *Actor, changes []PreviewChange) (Preview, error) {
	if len(changes) == 0 {
		return Preview{}, access.FieldErrorf(access.CodeInvalid, "changes", "give at least one change")
	}
	if len(changes) > MaxPreviewChanges {
		return Preview{}, access.FieldErrorf(access.CodeInvalid, "changes", "a preview holds at most %d changes", MaxPreviewChanges)
	}
	if !c.Internal() {
		if _, err := a.userAdmin(c); err != nil {
			return Preview{}, err
		}
	}
	managed := a.ManagedAccounts(c)
	rev := a.st.Revision()
	after, err := a.eng.Clone()
	if err != nil {
		return Preview{}, err
	}
	defer after.Release()
	run := &previewRun{a: a, pa: &App{st: a.st, eng: after}, after: after, candidates: map[string]bool{}}
	for i, ch := range changes {
		if err := run.apply(ctx, c, i, ch); err != nil {
			return Preview{}, indexed(i, err)
		}
	}
	var users []string
	for u := range run.candidates {
		if !c.Internal() {
			x, ok := a.eng.User(u)
			if !ok {
				x, ok = after.User(u)
			}
			if !ok || !contains(managed, x.HomeAccount) {
				continue
			}
		}
		users = append(users, u)
	}
	sort.Strings(users)
	effects, err := diffUsers(ctx, a.st, a.eng, after, users)
	if err != nil {
		return Preview{}, err
	}
	out := Preview{Revision: rev, Effects: effects, Warnings: run.warnings}
	seen := map[string]bool{}
	for _, e := range effects {
		if !seen[e.User] {
			seen[e.User] = true
			out.Users++
		}
	}
	extra, err := effectWarnings(ctx, a.st, a.eng, effects)
	if err != nil {
		return Preview{}, err
	}
	out.Warnings = append(out.Warnings, extra...)
	if out.Effects == nil {
		out.Effects = []PreviewEffect{}
	}
	if out.Warnings == nil {
		out.Warnings = []PreviewWarning{}
	}
	return out, nil
}

// indexed prefixes a domain error's message with the change it is about.
func indexed(i int, err error) error {
	var e *access.Error
	if !errors.As(err, &e) {
		return err
	}
	cp := *e
	cp.Message = fmt.Sprintf("changes[%d]: %s", i, e.Message)
	return &cp
}

// decodePatch decodes a change's patch strictly into v.
func decodePatch(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return access.FieldErrorf(access.CodeInvalid, "patch", "patch is required")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return access.FieldErrorf(access.CodeInvalid, "patch", "patch: %v", err)
	}
	return nil
}

func (r *previewRun) add(users ...string) {
	for _, u := range users {
		r.candidates[u] = true
	}
}

// apply validates, authorizes and applies change i to the copy, as the
// use case of the real change does (grants.go, accounts.go, members.go,
// groups.go, users.go, policy.go).
func (r *previewRun) apply(ctx context.Context, c *Actor, i int, ch PreviewChange) error {
	pa, eng := r.pa, r.after
	switch ch.Op {
	case "grant.create":
		if _, err := pa.userAdmin(c); err != nil {
			return err
		}
		if ch.Grant == nil {
			return access.FieldErrorf(access.CodeInvalid, "grant", "grant is required")
		}
		var g access.Grant
		ch.Grant.applyTo(&g)
		g.CreatedBy = c.ID()
		if err := g.Validate(eng.Policy()); err != nil {
			return err
		}
		if err := pa.grantRefs(c, &g); err != nil {
			return err
		}
		if err := pa.checkGrant(c, nil, &g); err != nil {
			return err
		}
		g.ID = fmt.Sprintf("preview-%d", i)
		g.CreatedAt, g.UpdatedAt = r.a.Now(), r.a.Now()
		if err := eng.PutGrant(g); err != nil {
			return err
		}
		r.add(eng.GrantUsers(g.ID)...)
	case "grant.update", "grant.delete":
		managed, err := pa.userAdmin(c)
		if err != nil {
			return err
		}
		old, ok := eng.Grant(ch.ID)
		if !ok || (managed != nil && !contains(managed, old.Account)) {
			return access.Errorf(access.CodeNotFound, "grant %s not found", ch.ID)
		}
		r.add(eng.GrantUsers(ch.ID)...)
		if ch.Op == "grant.delete" {
			if err := pa.checkGrant(c, &old, nil); err != nil {
				return err
			}
			return eng.DeleteGrant(ch.ID)
		}
		var in GrantUpdate
		if err := decodePatch(ch.Patch, &in); err != nil {
			return err
		}
		g := old
		in.applyTo(&g)
		if g.Principal != old.Principal || g.Account != old.Account {
			return access.Errorf(access.CodeInvalid, "a grant's principal and account cannot change; create another grant")
		}
		if err := g.Validate(eng.Policy()); err != nil {
			return err
		}
		if err := pa.grantRefs(c, &g); err != nil {
			return err
		}
		if err := pa.checkGrant(c, &old, &g); err != nil {
			return err
		}
		return eng.PutGrant(g)
	case "account.update":
		return r.account(c, i, ch)
	case "group.add_member", "group.remove_member":
		return r.member(c, ch)
	case "user.update":
		return r.user(c, ch)
	case "policy.replace":
		return r.policy(c, ch)
	default:
		return access.FieldErrorf(access.CodeInvalid, "op", "op %q is not one of grant.create, grant.update, grant.delete, "+
			"account.update, group.add_member, group.remove_member, user.update, policy.replace", ch.Op)
	}
	return nil
}

// account applies an account.update (PutAccount's checks; switching
// external access on creates the account group and its grant as the store
// does).
func (r *previewRun) account(c *Actor, i int, ch PreviewChange) error {
	if err := requireStaffWriter(c); err != nil {
		return err
	}
	var p struct {
		ExternalAccess Optional[bool]   `json:"external_access"`
		Inherit        Optional[bool]   `json:"inherit"`
		Parent         Optional[string] `json:"parent"`
	}
	if !access.ValidID(ch.ID) {
		return access.FieldErrorf(access.CodeInvalid, "id", "account id %q must be 1-64 characters of A-Za-z0-9._:-", ch.ID)
	}
	eng := r.after
	acct, ok := eng.Account(ch.ID)
	if !ok {
		return access.Errorf(access.CodeNotFound, "account %s not found", ch.ID)
	}
	if err := decodePatch(ch.Patch, &p); err != nil {
		return err
	}
	before := acct
	if err := (AccountUpdate{ExternalAccess: p.ExternalAccess, Inherit: p.Inherit, Parent: p.Parent}).applyTo(&acct); err != nil {
		return err
	}
	if err := acct.Validate(); err != nil {
		return err
	}
	// PutAccount's order: the patch is validated before the store's
	// write checks that the actor is still a staff writer (which an
	// earlier change of the preview may have disabled).
	if err := r.pa.staffWriterStill(c)(); err != nil {
		return err
	}
	if acct.Parent != "" {
		if _, ok := eng.Account(acct.Parent); !ok || !access.ValidID(acct.Parent) {
			return access.FieldErrorf(access.CodeInvalid, "parent", "parent account %s does not exist", acct.Parent)
		}
	}
	r.add(eng.AccountUsers(ch.ID)...)
	if err := eng.PutAccount(acct); err != nil {
		var e *access.Error
		if errors.As(err, &e) && e.Code == access.CodeInvalid {
			return access.FieldErrorf(access.CodeInvalid, "parent", "%s", e.Message)
		}
		return err
	}
	if acct.ExternalAccess && !before.ExternalAccess {
		if err := eng.EnsureAccountGroup(acct, fmt.Sprintf("preview-%d", i)); err != nil {
			return err
		}
	}
	r.add(eng.AccountUsers(ch.ID)...)
	return nil
}

// member applies a group membership change: a customer admin's of an
// account group (AddAccountGroupMember's checks), staff's of any group
// (AddMember's).
func (r *previewRun) member(c *Actor, ch PreviewChange) error {
	eng := r.after
	if !c.Internal() {
		acct, ok := strings.CutPrefix(ch.Group, "acct:")
		if !ok {
			return access.Errorf(access.CodeForbidden, "you may not change this")
		}
		if _, err := r.pa.memberCheck(c, MemberChange{Account: acct, User: ch.User}); err != nil {
			return err
		}
	} else {
		if err := requireStaffWriter(c); err != nil {
			return err
		}
		if err := r.pa.staffWriterStill(c)(); err != nil {
			return err
		}
		if _, ok := eng.Group(ch.Group); !ok {
			return access.FieldErrorf(access.CodeNotFound, "group", "group %s not found", ch.Group)
		}
		if _, ok := eng.User(ch.User); !ok {
			return access.FieldErrorf(access.CodeNotFound, "user", "user %s not found", ch.User)
		}
	}
	r.add(ch.User)
	if ch.Op == "group.add_member" {
		return eng.AddMember(ch.Group, ch.User)
	}
	return eng.RemoveMember(ch.Group, ch.User)
}

// user applies a user.update of the status (PutUser's checks).
func (r *previewRun) user(c *Actor, ch PreviewChange) error {
	var p struct {
		Status Optional[string] `json:"status"`
	}
	eng := r.after
	if !c.Internal() && ch.ID == c.ID() {
		if err := decodePatch(ch.Patch, &p); err != nil {
			return err
		}
		old, _ := eng.User(c.ID())
		u := old
		p.Status.apply(&u.Status, "")
		if err := u.Validate(eng.Policy()); err != nil {
			return err
		}
		if !selfChange(old, u) {
			return access.Errorf(access.CodeForbidden, "you may change only your own name, email and locale")
		}
		return nil
	}
	managed, err := r.pa.userAdmin(c)
	if err != nil {
		return err
	}
	if !access.ValidID(ch.ID) {
		return access.FieldErrorf(access.CodeInvalid, "id", "user id %q must be 1-64 characters of A-Za-z0-9._:-", ch.ID)
	}
	old, ok := eng.User(ch.ID)
	if !ok || (managed != nil && !contains(managed, old.HomeAccount)) {
		return access.Errorf(access.CodeNotFound, "user %s not found", ch.ID)
	}
	if err := decodePatch(ch.Patch, &p); err != nil {
		return err
	}
	u := old
	p.Status.apply(&u.Status, "")
	if err := u.Validate(eng.Policy()); err != nil {
		return err
	}
	if err := r.pa.checkUser(c, &old, &u); err != nil {
		return err
	}
	r.add(u.ID)
	return eng.PutUser(u)
}

// policy applies a policy.replace (PutPolicy's checks) and warns of
// restricted fields the new policy shows to roles that could not see them.
func (r *previewRun) policy(c *Actor, ch PreviewChange) error {
	if !c.Admin() {
		return access.Errorf(access.CodeForbidden, "only admins change the policy")
	}
	d, err := policy.Parse([]byte(ch.Document))
	if err != nil {
		return access.FieldErrorf(access.CodeInvalid, "document", "%s", err.Error())
	}
	next, err := policy.Compile(d)
	if err != nil {
		return access.FieldErrorf(access.CodeInvalid, "document", "%s", err.Error())
	}
	// The store parses before its transaction, which checks the actor.
	if err := r.pa.adminStill(c)(); err != nil {
		return err
	}
	eng := r.after
	old := eng.Policy()
	for _, or := range old.Roles() {
		if nr := next.Role(or.Name); or.Protected && nr != nil && !nr.Protected {
			return access.Errorf(access.CodeConflict, "role %s is protected and cannot be unprotected", or.Name)
		}
	}
	if err := eng.SetPolicy(next); err != nil {
		return err
	}
	r.add(eng.UserIDs()...)
	r.warnings = append(r.warnings, fieldsExposed(old, next)...)
	return nil
}

// fieldsExposed lists, as fields_exposed warnings, the restricted fields
// of next that a role of both policies sees in next and did not in old.
func fieldsExposed(old, next *policy.Policy) []PreviewWarning {
	var out []PreviewWarning
	for _, nt := range next.Types() {
		ot := old.Type(nt.Name)
		for _, nr := range next.Roles() {
			or := old.Role(nr.Name)
			if or == nil {
				continue
			}
			var before []string
			if ot != nil {
				before = ot.FieldNames(or.Perm(ot).Fields)
			}
			for _, f := range nt.FieldNames(nr.Perm(nt).Fields) {
				if !slices.Contains(before, f) {
					out = append(out, PreviewWarning{Code: WarnFieldsExposed,
						Message: fmt.Sprintf("role %s would see the restricted field %s of %s", nr.Name, f, nt.Name)})
				}
			}
		}
	}
	return out
}

// diffUsers computes the effects for users: per type of either policy and
// action, the records whose decision flips, counted in the database under
// the two predicates, and on read the restricted fields whose visibility
// changes on some record. Predicates that are the same on both sides need
// no query, and a pair is counted once per preview (diffCounts): users
// whose predicates are the same (a group's members, an account's users)
// share the count. Cells (user, type) are counted previewWorkers at a
// time.
func diffUsers(ctx context.Context, st store.PreviewStore, before, after *access.Engine, users []string) ([]PreviewEffect, error) {
	types := typeNames(before.Policy(), after.Policy())
	results := make([][]PreviewEffect, len(users)*len(types))
	counts := &diffCounts{st: st, m: map[string]*diffCount{}}
	var g errgroup.Group
	g.SetLimit(previewWorkers)
	for i := range results {
		g.Go(func() error {
			var err error
			results[i], err = diffCell(ctx, counts, before, after, users[i/len(types)], types[i%len(types)])
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []PreviewEffect
	for _, r := range results {
		out = append(out, r...)
	}
	return out, nil
}

// previewWorkers is how many (user, type) cells a preview counts at once.
const previewWorkers = 2

// diffCell computes the effects of one user on one type, in action order.
func diffCell(ctx context.Context, counts *diffCounts, before, after *access.Engine, u, typ string) ([]PreviewEffect, error) {
	var out []PreviewEffect
	for _, act := range previewActions {
		b, a := predicateOf(before, u, typ, act.act), predicateOf(after, u, typ, act.act)
		d, err := counts.count(ctx, typ, b, a, true)
		if err != nil {
			return nil, err
		}
		e := PreviewEffect{User: u, Type: typ, Action: act.name, Gained: d.Gained, Lost: d.Lost,
			SampleGained: orEmpty(d.SampleGained), SampleLost: orEmpty(d.SampleLost),
			FieldsGained: []string{}, FieldsLost: []string{}}
		if act.act == policy.Read {
			for _, f := range fieldNames(before.Policy(), after.Policy(), typ) {
				fd, err := counts.count(ctx, typ, fieldPredicateOf(before, u, typ, f), fieldPredicateOf(after, u, typ, f), false)
				if err != nil {
					return nil, err
				}
				if fd.Gained > 0 {
					e.FieldsGained = append(e.FieldsGained, f)
				}
				if fd.Lost > 0 {
					e.FieldsLost = append(e.FieldsLost, f)
				}
			}
		}
		if e.Gained > 0 || e.Lost > 0 || len(e.FieldsGained) > 0 || len(e.FieldsLost) > 0 {
			out = append(out, e)
		}
	}
	return out, nil
}

// diffCounts counts the pairs of a preview once: a pair is keyed by its
// type and predicates (accounts sorted, the user left out when neither
// predicate depends on who the user is), and a pair asked for again, by
// the same user (a field's predicate equal to the read one) or another,
// waits for or reuses the first count.
type diffCounts struct {
	st store.PreviewStore
	mu sync.Mutex
	m  map[string]*diffCount
}

type diffCount struct {
	done chan struct{}
	d    store.PredicateDiff
	err  error
}

// count counts a pair, with samples when sample is set (a field's effect
// needs the counts only; a count with samples serves one without).
func (c *diffCounts) count(ctx context.Context, typ string, b, a *access.Predicate, sample bool) (store.PredicateDiff, error) {
	if access.SamePredicate(b, a) {
		return store.PredicateDiff{}, nil
	}
	key := pairKey(typ, b, a)
	c.mu.Lock()
	e := c.m[key+"|s"]
	if e == nil && !sample {
		e = c.m[key]
	}
	if e == nil {
		e = &diffCount{done: make(chan struct{})}
		if sample {
			key += "|s"
		}
		c.m[key] = e
		c.mu.Unlock()
		n := 0
		if sample {
			n = PreviewSample
		}
		e.d, e.err = c.st.CountPredicateDiff(ctx, typ, b, a, n)
		close(e.done)
	} else {
		c.mu.Unlock()
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return store.PredicateDiff{}, ctx.Err()
	}
	return e.d, e.err
}

// pairKey is the key of a pair of predicates of typ in diffCounts.
func pairKey(typ string, b, a *access.Predicate) string {
	var sb strings.Builder
	sb.WriteString(typ)
	if usesUser(b) || usesUser(a) {
		sb.WriteString("|u=" + a.User + "|" + b.User)
	}
	sb.WriteString("|b=")
	writePredicate(&sb, b)
	sb.WriteString("|a=")
	writePredicate(&sb, a)
	return sb.String()
}

// usesUser reports whether p's records depend on who its user is: a
// creator condition or the user's own team entries, at any level.
func usesUser(p *access.Predicate) bool {
	if p.All {
		return false
	}
	if p.TeamUser != nil {
		return true
	}
	for _, ac := range p.Accounts {
		if ac.CreatorOnly {
			return true
		}
	}
	for _, sc := range p.Shared {
		if sc.CreatorOnly || usesUser(sc.Parent) {
			return true
		}
	}
	return false
}

// writePredicate writes p canonically but for the user and the order of
// its clauses (a different order only misses the cache).
func writePredicate(sb *strings.Builder, p *access.Predicate) {
	fmt.Fprintf(sb, "(%s all=%t tw=%t owned=%t", p.Type, p.All, p.TeamWrite, p.Owned)
	if p.TeamUser != nil {
		fmt.Fprintf(sb, " tu=%+v", *p.TeamUser)
	}
	for _, ac := range p.Accounts {
		accts := slices.Clone(ac.Accounts)
		slices.Sort(accts)
		fmt.Fprintf(sb, " acct=%+v%q", ac.Cond, accts)
	}
	for _, sc := range p.Shared {
		fmt.Fprintf(sb, " shared own=%t ", sc.CreatorOnly)
		writePredicate(sb, sc.Parent)
	}
	sb.WriteString(")")
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// typeNames lists the types of both policies, sorted.
func typeNames(a, b *policy.Policy) []string {
	var out []string
	for _, p := range []*policy.Policy{a, b} {
		for _, t := range p.Types() {
			if !slices.Contains(out, t.Name) {
				out = append(out, t.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// fieldNames lists the restricted fields of typ in either policy, sorted.
func fieldNames(a, b *policy.Policy, typ string) []string {
	var out []string
	for _, p := range []*policy.Policy{a, b} {
		if t := p.Type(typ); t != nil {
			for _, f := range t.Restricted {
				if !slices.Contains(out, f.Path) {
					out = append(out, f.Path)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// predicateOf is the engine's predicate, empty for a type its policy lacks.
func predicateOf(e *access.Engine, user, typ string, act policy.Actions) *access.Predicate {
	p, err := e.Predicate(user, typ, act)
	if err != nil {
		return &access.Predicate{Type: typ, User: user}
	}
	return p
}

// fieldPredicateOf is the engine's predicate of the records on which the
// user sees restricted field f of typ, empty where the policy lacks either.
func fieldPredicateOf(e *access.Engine, user, typ, f string) *access.Predicate {
	empty := &access.Predicate{Type: typ, User: user}
	t := e.Policy().Type(typ)
	if t == nil {
		return empty
	}
	i := t.RestrictedIndex(f)
	if i < 0 {
		return empty
	}
	p, err := e.FieldPredicate(user, typ, i)
	if err != nil {
		return empty
	}
	return p
}

// effectWarnings returns the broad_exposure warnings (a user gains read on
// more than a fifth of a type's records) and the owner_affected ones (a
// user holding a protected role loses anything).
//
// A type's records are counted only up to five times the largest gain of
// the preview in it: more than that and no gain can be a fifth of them, so
// the exact total (a read of the type's whole index, 0.3 s for 3M orders)
// is not needed.
func effectWarnings(ctx context.Context, st store.PreviewStore, before *access.Engine, effects []PreviewEffect) ([]PreviewWarning, error) {
	var out []PreviewWarning
	upTo := map[string]int{}
	for _, e := range effects {
		if e.Action == "read" && e.Gained > 0 {
			upTo[e.Type] = max(upTo[e.Type], 5*e.Gained+1)
		}
	}
	totals := map[string]int{}
	owners := map[string]bool{}
	pol := before.Policy()
	for _, e := range effects {
		if e.Action == "read" && e.Gained > 0 {
			total, ok := totals[e.Type]
			if !ok {
				n, err := st.CountTypeUpTo(ctx, e.Type, upTo[e.Type])
				if err != nil {
					return nil, err
				}
				total = n
				totals[e.Type] = total
			}
			if e.Gained*5 > total {
				out = append(out, PreviewWarning{Code: WarnBroadExposure, User: e.User, Type: e.Type, Gained: e.Gained, Total: total,
					Message: fmt.Sprintf("%s would gain read on %d of %d %s records", e.User, e.Gained, total, e.Type)})
			}
		}
		if (e.Lost > 0 || len(e.FieldsLost) > 0) && !owners[e.User] {
			for _, g := range before.UserGrants(e.User) {
				if r := pol.Role(g.Role); r != nil && r.Protected {
					owners[e.User] = true
					out = append(out, PreviewWarning{Code: WarnOwnerAffected, User: e.User, Role: r.Name, Account: g.Account,
						Message: fmt.Sprintf("%s holds the %s role on %s and would lose access", e.User, r.Name, g.Account)})
					break
				}
			}
		}
	}
	return out, nil
}
