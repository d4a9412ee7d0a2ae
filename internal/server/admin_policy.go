package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The policy in the console: the role × object type matrix (what each role,
// with everything it includes, allows on each type: actions, "own" scope,
// visible restricted fields), the object types and sharing rules, the
// editor (admins only) and the version history.
//
// The editor parses and validates the text before saving and lists every
// problem with its path (policy.Validate reports them all at once); the
// store then checks what depends on the data (a role in use cannot go, a
// protected role cannot be unprotected) and answers 409 with its reason.

type admRoleCell struct {
	Actions []string
	Own     bool
	Fields  []string
}

type admRoleRow struct {
	*policy.CompiledRole
	Includes []string
	Cells    []admRoleCell
}

type admPolicyData struct {
	adminBase
	Version          store.PolicyVersion
	Types            []*policy.Type
	Roles            []admRoleRow
	Sharing          []policy.SharingRule
	DefaultGroupRole string
	// Source is the editor's text; Problems what is wrong with it.
	Source   string
	Problems []policy.Problem
	Versions []store.PolicyVersion
	More     int
}

// admMaxVersions bounds the history shown.
const admMaxVersions = 50

func (s *Server) handleAdminPolicy(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	return s.admRenderPolicy(w, r, c, s.admPage(r, c, "Policy", "policy"), http.StatusOK, nil, nil)
}

func (s *Server) admRenderPolicy(w http.ResponseWriter, r *http.Request, c *caller, p *page, status int, source *string, problems []policy.Problem) error {
	pv, err := s.store.Policy(r.Context())
	if err != nil {
		return err
	}
	pol := pv.Policy
	if pol == nil {
		pol = s.engine.Policy()
	}
	doc := pol.Document()
	d := admPolicyData{adminBase: admBaseOf(c), Version: pv, Types: pol.Types(), Sharing: doc.SharingRules,
		DefaultGroupRole: doc.DefaultGroupRole, Source: pv.Source, Problems: problems}
	if source != nil {
		d.Source = *source
	}
	includes := map[string][]string{}
	for _, r := range doc.Roles {
		includes[r.Name] = r.Includes
	}
	for _, role := range pol.Roles() {
		row := admRoleRow{CompiledRole: role, Includes: includes[role.Name]}
		for _, t := range pol.Types() {
			perm := role.Perm(t)
			row.Cells = append(row.Cells, admRoleCell{Actions: perm.Actions.Names(), Own: perm.Own, Fields: t.FieldNames(perm.Fields)})
		}
		d.Roles = append(d.Roles, row)
	}
	versions, err := s.store.PolicyVersions(r.Context())
	if err != nil {
		return err
	}
	if len(versions) > admMaxVersions {
		d.More = len(versions) - admMaxVersions
		versions = versions[:admMaxVersions]
	}
	d.Versions = versions
	p.Data = d
	s.render(w, r, status, "admin_policy", p)
	return nil
}

// handleAdminSavePolicy validates the editor's text and stores it as a new
// version (admins only).
func (s *Server) handleAdminSavePolicy(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriterPage(c); err != nil {
		return err
	}
	if !c.admin() {
		return access.Errorf(access.CodeForbidden, "only admins change the policy")
	}
	src := r.PostFormValue("source")
	p := s.admPage(r, c, "Policy", "policy")
	problems := admPolicyProblems([]byte(src))
	if len(problems) > 0 {
		p.Error = "The policy was not saved: it has " + strconv.Itoa(len(problems)) + " problem(s), listed next to the editor."
		p.Errors["policy_source"] = "see the problems listed above the editor"
		return s.admRenderPolicy(w, r, c, p, http.StatusBadRequest, &src, problems)
	}
	if _, _, err := s.putPolicy(r.Context(), c, []byte(src)); err != nil {
		status, ierr := formError(p, err, fieldHint{"", "policy_source"})
		if ierr != nil {
			return ierr
		}
		return s.admRenderPolicy(w, r, c, p, status, &src, []policy.Problem{{Message: p.Error}})
	}
	admRedirectDone(w, r, "/admin/policy", "policy_saved")
	return nil
}

// admPolicyProblems parses and validates a policy text: nil when it is valid,
// else every problem found (a parse error is one problem, located by line
// where the decoder says).
func admPolicyProblems(src []byte) []policy.Problem {
	d, err := policy.Parse(src)
	if err != nil {
		return []policy.Problem{{Message: err.Error()}}
	}
	if err := policy.Validate(d); err != nil {
		var ve *policy.ValidationError
		if errors.As(err, &ve) {
			return ve.Problems
		}
		return []policy.Problem{{Message: err.Error()}}
	}
	if _, err := policy.Compile(d); err != nil {
		return []policy.Problem{{Message: err.Error()}}
	}
	return nil
}

type admPolicyVersionData struct {
	adminBase
	Version store.PolicyVersion
	Current bool
}

// handleAdminPolicyVersion shows one stored version's source.
func (s *Server) handleAdminPolicyVersion(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil {
		return access.Errorf(access.CodeNotFound, "no such version")
	}
	versions, err := s.store.PolicyVersions(r.Context())
	if err != nil {
		return err
	}
	for i, v := range versions {
		if v.Version == n {
			p := s.admPage(r, c, "Policy version "+strconv.Itoa(n), "policy")
			p.Data = admPolicyVersionData{adminBase: admBaseOf(c), Version: v, Current: i == 0}
			s.render(w, r, http.StatusOK, "admin_policy_version", p)
			return nil
		}
	}
	return access.Errorf(access.CodeNotFound, "no such version")
}
