package access

import (
	"fmt"
	"sort"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/policy"
)

// Explain reason codes (DESIGN.md §2).
const (
	ReasonUserDisabled        = "user_disabled"
	ReasonUserInvited         = "user_invited"
	ReasonNoOwner             = "no_owner"
	ReasonNoGrant             = "no_grant"
	ReasonGrantInactive       = "grant_inactive"
	ReasonExternalAccessOff   = "external_access_off"
	ReasonChainBroken         = "chain_broken"
	ReasonOutsideDaysBack     = "outside_days_back"
	ReasonRoleLacksPermission = "role_lacks_permission"
	ReasonOwnScopeNotCreator  = "own_scope_not_creator"
	ReasonReadOnlyAccess      = "read_only_access"
)

// Explanation answers "may U do this, and why (not)?".
type Explanation struct {
	Allowed bool         `json:"allowed"`
	Paths   []PathInfo   `json:"paths"`
	Reasons []Reason     `json:"reasons"`
	Fields  FieldsReport `json:"fields"`
}

// PathInfo describes one path that allows the action.
type PathInfo struct {
	// Kind is owner, team_account, team_user or sharing.
	Kind string `json:"kind"`
	// Grant is the grant behind the path ("" for team_user).
	Grant string `json:"grant,omitempty"`
	// Account is the covered account (for sharing: of the parent's path).
	Account string `json:"account,omitempty"`
	Role    string `json:"role"`
	Access  string `json:"access"`
	// Via is the parent record a sharing path follows.
	Via *Ref `json:"via,omitempty"`
}

// Reason is a deny reason: a code of DESIGN.md §2 and a sentence.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// FieldsReport lists the restricted fields a user sees and why the others
// are hidden.
type FieldsReport struct {
	Visible []string      `json:"visible"`
	Hidden  []HiddenField `json:"hidden"`
}

// HiddenField is a restricted field the user does not see.
type HiddenField struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// candidate is a path that exists, or would exist but for a reason.
type candidate struct {
	p     path
	block *Reason // why this path does not apply at all
}

// Explain returns every path that lets the user do action on r, or every
// reason it may not, and the field report. An unknown user or type is
// CodeNotFound.
func (e *Engine) Explain(userID string, r *Record, action policy.Actions, src RecordSource) (*Explanation, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	u := e.users[userID]
	if u == nil {
		return nil, Errorf(CodeNotFound, "user %s not found", userID)
	}
	t := e.pol.Type(r.Type)
	if t == nil {
		return nil, Errorf(CodeNotFound, "unknown object type %s", r.Type)
	}
	x := &Explanation{Paths: []PathInfo{}, Reasons: []Reason{}, Fields: FieldsReport{Visible: []string{}, Hidden: []HiddenField{}}}
	switch {
	case u.Status == StatusDisabled:
		x.Reasons = append(x.Reasons, Reason{ReasonUserDisabled, fmt.Sprintf("user %s is disabled and has no access", u.ID)})
	case u.Status == StatusInvited:
		x.Reasons = append(x.Reasons, Reason{ReasonUserInvited, fmt.Sprintf("user %s is invited and has not activated the account yet", u.ID)})
	case u.Kind == KindInternal:
		x.Allowed = staffMay(u, action)
		if x.Allowed {
			x.Fields.Visible = append(x.Fields.Visible, t.FieldNames(t.AllFields())...)
		} else {
			x.Reasons = append(x.Reasons, Reason{ReasonRoleLacksPermission, fmt.Sprintf("staff role %s is read-only", u.StaffRole)})
		}
		return x, nil
	}
	if u.Status != StatusActive {
		x.Fields.Hidden = hideAll(t, "the record is not visible to the user")
		return x, nil
	}
	d := e.newDecision(u, src)
	seen := map[Reason]bool{}
	reason := func(code, format string, args ...any) {
		rs := Reason{code, fmt.Sprintf(format, args...)}
		if !seen[rs] {
			seen[rs] = true
			x.Reasons = append(x.Reasons, rs)
		}
	}
	var fields policy.FieldSet
	var readRoles []string
	any, ownerSeen := false, false
	d.candidates(r, t, 0, func(c candidate) {
		any = true
		ownerSeen = ownerSeen || c.p.kind == PathOwner
		if c.block != nil {
			reason(c.block.Code, "%s", c.block.Message)
			return
		}
		if d.allows(&c.p, r, t, policy.Read) {
			fields |= c.p.role.Perm(t).Fields
			readRoles = append(readRoles, c.p.role.Name)
		}
		if d.allows(&c.p, r, t, action) {
			x.Paths = append(x.Paths, c.p.info())
			return
		}
		perm := c.p.role.Perm(t)
		switch {
		case !perm.Actions.Has(action):
			reason(ReasonRoleLacksPermission, "role %s (%s) does not allow %s on %s", c.p.role.Name, c.p.describe(), actionName(action), t.Name)
		case perm.Own && r.Creator != u.ID:
			reason(ReasonOwnScopeNotCreator, "role %s (%s) allows %s on %s only for records the user created", c.p.role.Name, c.p.describe(), actionName(action), t.Name)
		default:
			reason(ReasonReadOnlyAccess, "%s gives read-only access", c.p.describe())
		}
	})
	x.Allowed = len(x.Paths) > 0
	if x.Allowed {
		x.Reasons = []Reason{}
	} else if r.Owner == "" && !any {
		reason(ReasonNoOwner, "%s %s has no owner and no team or sharing path applies", t.Name, r.ID)
	} else if r.Owner != "" && !ownerSeen {
		reason(ReasonNoGrant, "no grant of %s, active or not, covers the owner %s", u.ID, r.Owner)
	}
	for i, f := range t.Restricted {
		switch {
		case fields.Has(i):
			x.Fields.Visible = append(x.Fields.Visible, f.Path)
		case len(readRoles) == 0:
			x.Fields.Hidden = append(x.Fields.Hidden, HiddenField{f.Path, "the record is not visible to the user"})
		default:
			x.Fields.Hidden = append(x.Fields.Hidden, HiddenField{f.Path, fmt.Sprintf("not granted by role %s", strings.Join(dedupe(readRoles), ", "))})
		}
	}
	return x, nil
}

func hideAll(t *policy.Type, why string) []HiddenField {
	out := []HiddenField{}
	for _, f := range t.Restricted {
		out = append(out, HiddenField{f.Path, why})
	}
	return out
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func actionName(a policy.Actions) string {
	if n := a.Names(); len(n) > 0 {
		return strings.Join(n, ",")
	}
	return "nothing"
}

func (p *path) info() PathInfo {
	pi := PathInfo{Kind: p.kind, Account: p.account, Role: p.role.Name, Access: AccessRead, Via: p.via}
	if p.rw {
		pi.Access = AccessReadWrite
	}
	if p.g != nil {
		pi.Grant = p.g.ID
	}
	return pi
}

// describe names a path in a sentence fragment.
func (p *path) describe() string {
	switch p.kind {
	case PathOwner:
		return fmt.Sprintf("grant %s on %s", p.g.ID, p.g.Account)
	case PathTeamAccount:
		return fmt.Sprintf("team entry account:%s through grant %s", p.account, p.g.ID)
	case PathTeamUser:
		return "the user's team entry"
	default:
		return fmt.Sprintf("sharing from %s %s via %s", p.via.Type, p.via.ID, p.inner.describe())
	}
}

// candidates calls fn for every path to r, including those that do not
// apply, each with the reason it does not. It mirrors walk, which decides
// without explaining.
func (d *decision) candidates(r *Record, t *policy.Type, hops int, fn func(candidate)) {
	u := d.u
	day, _ := Day(r.Date)
	if r.Owner != "" {
		if a := d.e.accounts[r.Owner]; a != nil {
			d.diagnose(a, day, func(g *grant, block *Reason) {
				fn(candidate{p: path{kind: PathOwner, g: g, account: a.ID, role: g.role, rw: g.readWrite}, block: block})
			})
		}
	}
	for _, te := range r.Teams {
		kind, id, _ := strings.Cut(te.Principal, ":")
		entryRW := te.Access == AccessReadWrite
		switch {
		case kind == "account" && d.e.accounts[id] != nil:
			a := d.e.accounts[id]
			d.diagnose(a, day, func(g *grant, block *Reason) {
				fn(candidate{p: path{kind: PathTeamAccount, g: g, account: a.ID, role: g.role, rw: g.readWrite && entryRW}, block: block})
			})
		case kind == "user" && id == u.ID:
			if role := d.highestRole(); role != nil {
				fn(candidate{p: path{kind: PathTeamUser, role: role, rw: entryRW}})
			} else {
				fn(candidate{block: &Reason{ReasonNoGrant, fmt.Sprintf("%s is on the record's team but holds no active grant to give it a role", u.ID)}})
			}
		}
	}
	if r.Parent == nil || hops >= MaxSharingHops {
		return
	}
	for _, sh := range t.SharedFrom {
		if sh.From.Name != r.Parent.Type {
			continue
		}
		pr := d.src.Record(*r.Parent)
		if pr == nil || pr.Type != r.Parent.Type {
			return
		}
		ruleRW := sh.Access == AccessReadWrite
		prefix := fmt.Sprintf("parent %s %s: ", pr.Type, pr.ID)
		d.candidates(pr, sh.From, hops+1, func(c candidate) {
			if c.block != nil {
				fn(candidate{block: &Reason{c.block.Code, prefix + c.block.Message}})
				return
			}
			if !d.allows(&c.p, pr, sh.From, policy.Read) {
				code, msg := ReasonRoleLacksPermission, fmt.Sprintf("role %s (%s) does not allow read on %s", c.p.role.Name, c.p.describe(), sh.From.Name)
				if perm := c.p.role.Perm(sh.From); perm.Actions.Has(policy.Read) && perm.Own {
					code, msg = ReasonOwnScopeNotCreator, fmt.Sprintf("role %s (%s) allows read on %s only for records the user created", c.p.role.Name, c.p.describe(), sh.From.Name)
				}
				fn(candidate{block: &Reason{code, prefix + msg}})
				return
			}
			inner := c.p
			fn(candidate{p: path{kind: PathSharing, g: c.p.g, account: c.p.account, role: c.p.role,
				rw: c.p.rw && ruleRW, via: r.Parent, inner: &inner}})
		})
	}
}

// diagnose calls fn for every grant of the user on a or its ancestors,
// with the reason it does not cover a record of the given day on a (nil
// when it does). It mirrors covering.
func (d *decision) diagnose(a *account, day string, fn func(*grant, *Reason)) {
	broken := "" // the account whose inherit false cut the chain below x
	for x := a; x != nil; x = x.parent {
		for _, h := range d.u.all {
			g := h.g
			if g.acct != x {
				continue
			}
			switch {
			case broken != "":
				fn(g, &Reason{ReasonChainBroken, fmt.Sprintf("grant %s on %s does not reach %s: account %s does not inherit access from its parents", g.ID, x.ID, a.ID, broken)})
			case x != a && !g.subtree:
				fn(g, &Reason{ReasonNoGrant, fmt.Sprintf("grant %s on %s has scope account and does not reach %s", g.ID, x.ID, a.ID)})
			case !g.acct.ExternalAccess:
				fn(g, &Reason{ReasonExternalAccessOff, fmt.Sprintf("external access is switched off on %s, so grant %s is inactive", x.ID, g.ID)})
			case !g.valid(d.now):
				fn(g, &Reason{ReasonGrantInactive, fmt.Sprintf("grant %s is not valid now (%s)", g.ID, validity(g))})
			case g.daysBack >= 0 && day != "" && day < g.cutoff(d.today):
				fn(g, &Reason{ReasonOutsideDaysBack, fmt.Sprintf("the record is dated %s, before the cutoff %s of grant %s (days back %d)", day, g.cutoff(d.today), g.ID, g.daysBack)})
			default:
				fn(g, nil)
			}
		}
		if !x.Inherit && broken == "" {
			broken = x.ID
		}
	}
}

func validity(g *grant) string {
	var parts []string
	if g.ValidFrom != nil {
		parts = append(parts, "from "+g.ValidFrom.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if g.ValidUntil != nil {
		parts = append(parts, "until "+g.ValidUntil.UTC().Format("2006-01-02T15:04:05Z"))
	}
	return strings.Join(parts, " ")
}

// Viewer is a user who can read a record, with every path that lets it.
type Viewer struct {
	User  string     `json:"user"`
	Paths []PathInfo `json:"paths"`
}

// Viewers returns every external user who can read r, sorted by id, each
// with its read paths. Staff are not listed: they read every record.
func (e *Engine) Viewers(r *Record, src RecordSource) []Viewer {
	e.mu.RLock()
	defer e.mu.RUnlock()
	t := e.pol.Type(r.Type)
	if t == nil {
		return nil
	}
	users := map[*user]bool{}
	e.viewerCandidates(r, t, src, 0, users)
	ids := make([]*user, 0, len(users))
	for u := range users {
		ids = append(ids, u)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].ID < ids[j].ID })
	out := []Viewer{}
	for _, u := range ids {
		if u.Status != StatusActive || u.Kind != KindExternal {
			continue
		}
		d := e.newDecision(u, src)
		var paths []PathInfo
		d.walk(r, t, func(p path) bool {
			if d.allows(&p, r, t, policy.Read) {
				paths = append(paths, p.info())
			}
			return false
		})
		if len(paths) > 0 {
			out = append(out, Viewer{User: u.ID, Paths: paths})
		}
	}
	return out
}

// viewerCandidates collects every user holding a grant that could reach r:
// grants on r's owner, its team accounts or their ancestors, team users,
// and the candidates of r's parent.
func (e *Engine) viewerCandidates(r *Record, t *policy.Type, src RecordSource, hops int, out map[*user]bool) {
	fromAccount := func(id string) {
		for x := e.accounts[id]; x != nil; x = x.parent {
			for _, g := range e.grantsOn(x) {
				// g's user and group may be older copies (cow.go).
				if g.user != nil {
					out[e.users[g.user.ID]] = true
				} else {
					for uid := range e.groups[g.group.ID].members {
						out[e.users[uid]] = true
					}
				}
			}
			if !x.Inherit {
				break
			}
		}
	}
	if r.Owner != "" {
		fromAccount(r.Owner)
	}
	for _, te := range r.Teams {
		kind, id, _ := strings.Cut(te.Principal, ":")
		if kind == "account" {
			fromAccount(id)
		} else if u := e.users[id]; kind == "user" && u != nil {
			out[u] = true
		}
	}
	if r.Parent == nil || hops >= MaxSharingHops {
		return
	}
	for _, sh := range t.SharedFrom {
		if sh.From.Name == r.Parent.Type {
			if pr := src.Record(*r.Parent); pr != nil && pr.Type == r.Parent.Type {
				e.viewerCandidates(pr, sh.From, src, hops+1, out)
			}
			return
		}
	}
}
