package admin

import (
	"net/http"
	"strconv"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The policy in the console: the role × object type matrix (what each role,
// with everything it includes, allows on each type: actions, "own" scope,
// visible restricted fields), the object types and sharing rules, the
// editor (admins only) and the version history.
//
// The editor checks the text before saving (app.CheckPolicy: every
// problem with its path at once); the store then checks what depends on
// the data (a role in use cannot go, a protected role cannot be
// unprotected) and answers 409 with its reason.

type roleCell struct {
	Actions []string
	Own     bool
	Fields  []string
}

type roleRow struct {
	*policy.CompiledRole
	Includes []string
	Cells    []roleCell
}

type policyData struct {
	roles
	Version          store.PolicyVersion
	Types            []*policy.Type
	Roles            []roleRow
	Sharing          []policy.SharingRule
	DefaultGroupRole string
	// Source is the editor's text; Problems what is wrong with it.
	Source   string
	Problems []policy.Problem
	Versions []store.PolicyVersion
	More     int
}

// maxVersions bounds the history shown.
const maxVersions = 50

func (s *Surface) handlePolicy(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return s.renderPolicy(w, r, c, page(c, "Policy", "policy"), http.StatusOK, nil, nil)
}

func (s *Surface) renderPolicy(w http.ResponseWriter, r *http.Request, c *app.Actor, p *render.Page, status int, source *string, problems []policy.Problem) error {
	pv, err := s.app.Policy(r.Context(), c)
	if err != nil {
		return err
	}
	pol := pv.Policy
	if pol == nil {
		pol = s.app.Engine().Policy()
	}
	doc := pol.Document()
	d := policyData{roles: rolesOf(c), Version: pv, Types: pol.Types(), Sharing: doc.SharingRules,
		DefaultGroupRole: doc.DefaultGroupRole, Source: pv.Source, Problems: problems}
	if source != nil {
		d.Source = *source
	}
	includes := map[string][]string{}
	for _, r := range doc.Roles {
		includes[r.Name] = r.Includes
	}
	for _, role := range pol.Roles() {
		row := roleRow{CompiledRole: role, Includes: includes[role.Name]}
		for _, t := range pol.Types() {
			perm := role.Perm(t)
			row.Cells = append(row.Cells, roleCell{Actions: perm.Actions.Names(), Own: perm.Own, Fields: t.FieldNames(perm.Fields)})
		}
		d.Roles = append(d.Roles, row)
	}
	versions, err := s.app.PolicyVersions(r.Context(), c)
	if err != nil {
		return err
	}
	if len(versions) > maxVersions {
		d.More = len(versions) - maxVersions
		versions = versions[:maxVersions]
	}
	d.Versions = versions
	p.Data = d
	s.rd.Render(w, r, status, "admin_policy", p)
	return nil
}

// handleSavePolicy checks the editor's text and stores it as a new version
// (admins only: an access manager is refused before the text is read, as
// app.PutPolicy would refuse it).
func (s *Surface) handleSavePolicy(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	if !c.Admin() {
		return access.Errorf(access.CodeForbidden, "only admins change the policy")
	}
	src := r.PostFormValue("source")
	p := page(c, "Policy", "policy")
	if problems := app.CheckPolicy([]byte(src)); len(problems) > 0 {
		p.Error = s.rd.T(r, &c.User, "The policy was not saved: it has {{.Count}} problems, listed next to the editor.", "Count", len(problems))
		p.Errors["policy_source"] = "see the problems listed above the editor"
		return s.renderPolicy(w, r, c, p, http.StatusBadRequest, &src, problems)
	}
	var err error
	if r.PostFormValue("confirm") == "back" {
		return s.renderPolicy(w, r, c, p, http.StatusOK, &src, nil)
	}
	if !render.Confirmed(r) {
		var imp render.Impact
		if imp, err = s.preview(r, c, app.PreviewChange{Op: "policy.replace", Document: src}); err == nil {
			return s.renderConfirm(w, r, c, "Policy", "policy", render.Confirm{
				Heading: s.rd.T(r, &c.User, "Save this policy?"),
				Summary: s.rd.T(r, &c.User, "The text becomes a new policy version, in force at once for every user."),
				Action:  "/admin/policy", Button: s.rd.T(r, &c.User, "Save policy"), Back: s.rd.T(r, &c.User, "Back to the editor"),
				Cancel: "/admin/policy", Impact: imp})
		}
	} else {
		_, _, err = s.app.PutPolicy(r.Context(), c, []byte(src))
	}
	if err != nil {
		status, ierr := oneInput(p, err, "policy_source")
		if ierr != nil {
			return ierr
		}
		return s.renderPolicy(w, r, c, p, status, &src, []policy.Problem{{Message: p.Error}})
	}
	render.RedirectDone(w, r, "/admin/policy", "policy_saved")
	return nil
}

type policyVersionData struct {
	roles
	Version store.PolicyVersion
	Current bool
}

// handlePolicyVersion shows one stored version's source.
func (s *Surface) handlePolicyVersion(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil {
		return access.Errorf(access.CodeNotFound, "no such version")
	}
	versions, err := s.app.PolicyVersions(r.Context(), c)
	if err != nil {
		return err
	}
	for i, v := range versions {
		if v.Version == n {
			p := page(c, s.rd.T(r, &c.User, "Policy version {{.Version}}", "Version", n), "policy")
			p.Data = policyVersionData{roles: rolesOf(c), Version: v, Current: i == 0}
			s.rd.Render(w, r, http.StatusOK, "admin_policy_version", p)
			return nil
		}
	}
	return access.Errorf(access.CodeNotFound, "no such version")
}
