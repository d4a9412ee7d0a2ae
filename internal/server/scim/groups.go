package scim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// groupResource is a SCIM Group as read and written.
type groupResource struct {
	Schemas     []string `json:"schemas"`
	ID          string   `json:"id,omitempty"`
	ExternalID  string   `json:"externalId,omitempty"`
	DisplayName string   `json:"displayName"`
	Members     *[]ref   `json:"members,omitempty"`
	Meta        *meta    `json:"meta,omitempty"`
}

func (s *Surface) groupOut(r *http.Request, g store.SCIMGroup, withMembers bool) groupResource {
	base := s.baseURL(r) + Prefix
	out := groupResource{Schemas: []string{SchemaGroup}, ID: g.ID, ExternalID: g.ExternalID, DisplayName: g.Name,
		Meta: &meta{ResourceType: "Group", Location: base + "/Groups/" + g.ID}}
	if withMembers {
		ms := make([]ref, len(g.Members))
		for i, m := range g.Members {
			ms[i] = ref{Value: m, Ref: base + "/Users/" + m}
		}
		out.Members = &ms
	}
	return out
}

func (g groupResource) input() app.SCIMGroupInput {
	in := app.SCIMGroupInput{DisplayName: g.DisplayName, ExternalID: g.ExternalID}
	if g.Members != nil {
		for _, m := range *g.Members {
			in.Members = append(in.Members, m.Value)
		}
	}
	return in
}

func groupAttrs(g store.SCIMGroup) attrs {
	return func(name, sub string) ([]any, bool) {
		switch name + "." + sub {
		case "displayname.":
			return []any{g.Name}, true
		case "externalid.":
			return []any{g.ExternalID}, true
		case "id.":
			return []any{g.ID}, true
		case "members.", "members.value":
			vals := make([]any, len(g.Members))
			for i, m := range g.Members {
				vals[i] = m
			}
			return vals, true
		}
		return nil, false
	}
}

// withMembers reports whether the request leaves members in (Entra ID
// asks for excludedAttributes=members).
func withMembers(r *http.Request) bool {
	for _, a := range strings.Split(r.URL.Query().Get("excludedAttributes"), ",") {
		if strings.EqualFold(strings.TrimSpace(a), "members") {
			return false
		}
	}
	return true
}

func (s *Surface) handleListGroups(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	f, err := parseFilter(r.URL.Query().Get("filter"))
	if err != nil {
		return err
	}
	groups, err := s.app.ListSCIMGroups(r.Context(), c)
	if err != nil {
		return err
	}
	return writeList(w, r, f, groups, groupAttrs, func(g store.SCIMGroup) groupResource { return s.groupOut(r, g, withMembers(r)) })
}

func (s *Surface) handleGetGroup(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	g, err := s.app.GetSCIMGroup(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.groupOut(r, g, withMembers(r)))
	return nil
}

func (s *Surface) writeGroup(w http.ResponseWriter, r *http.Request, status int, g store.SCIMGroup, rev int64) error {
	out := s.groupOut(r, g, true)
	return writeResource(w, status, rev, out.Meta.Location, out)
}

func (s *Surface) handleCreateGroup(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in groupResource
	if err := decode(r, &in); err != nil {
		return err
	}
	g, rev, err := s.app.CreateSCIMGroup(r.Context(), c, in.input())
	if err != nil {
		return err
	}
	return s.writeGroup(w, r, http.StatusCreated, g, rev)
}

func (s *Surface) handleReplaceGroup(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in groupResource
	if err := decode(r, &in); err != nil {
		return err
	}
	g, rev, err := s.app.ReplaceSCIMGroup(r.Context(), c, r.PathValue("id"), in.input())
	if err != nil {
		return err
	}
	return s.writeGroup(w, r, http.StatusOK, g, rev)
}

// handlePatchGroup applies a PatchOp to a group: displayName and
// externalId (add, replace, remove), members add (a list of {value}),
// replace (the whole list), remove (by path members[value eq "x"], or
// path members with a list of {value}, or every member). An answer
// without a body (204) unless the client asks for attributes, as RFC 7644
// §3.5.2 allows; Entra ID and Okta accept both.
func (s *Surface) handlePatchGroup(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	ops, err := decodePatch(r)
	if err != nil {
		return err
	}
	cur, err := s.app.GetSCIMGroup(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	in := app.SCIMGroupInput{DisplayName: cur.Name, ExternalID: cur.ExternalID, Members: slices.Clone(cur.Members)}
	if err := applyPatch(ops, func(op, path string, v json.RawMessage) error { return patchGroup(&in, op, path, v) }); err != nil {
		return err
	}
	g, rev, err := s.app.ReplaceSCIMGroup(r.Context(), c, cur.ID, in)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("attributes") == "" {
		return noContent(w, rev)
	}
	return s.writeGroup(w, r, http.StatusOK, g, rev)
}

func patchGroup(in *app.SCIMGroupInput, op, path string, v json.RawMessage) error {
	p, err := filter.ParsePath([]byte(strings.TrimSpace(path)))
	if err != nil {
		return badRequest("invalidPath", "path %q is not a valid SCIM path", path)
	}
	name := strings.ToLower(p.AttributePath.AttributeName)
	if p.AttributePath.SubAttribute != nil && name != "members" {
		name += "." + strings.ToLower(*p.AttributePath.SubAttribute)
	}
	str := func() (string, error) {
		if op == "remove" {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", badRequest("invalidValue", "%s must be a string", path)
		}
		return s, nil
	}
	switch name {
	case "displayname":
		if op == "remove" {
			return badRequest("mutability", "displayName is required")
		}
		in.DisplayName, err = str()
		return err
	case "externalid":
		in.ExternalID, err = str()
		return err
	case "members":
	default:
		return badRequest("invalidPath", "attribute %s of a group cannot be patched", path)
	}
	var refs []ref
	if len(v) > 0 && string(v) != "null" {
		if err := json.Unmarshal(v, &refs); err != nil {
			var one ref
			if json.Unmarshal(v, &one) != nil {
				return badRequest("invalidValue", "members must be a list of {value}")
			}
			refs = []ref{one}
		}
	}
	ids := make([]string, len(refs))
	for i, m := range refs {
		ids[i] = m.Value
	}
	switch {
	case op == "add":
		in.Members = append(in.Members, ids...)
	case op == "replace":
		in.Members = ids
	case p.ValueExpression != nil:
		var keep []string
		for _, m := range in.Members {
			hit, err := match(p.ValueExpression, func(attr, sub string) ([]any, bool) {
				if attr == "value" && sub == "" {
					return []any{m}, true
				}
				return nil, false
			})
			if err != nil {
				return err
			}
			if !hit {
				keep = append(keep, m)
			}
		}
		in.Members = keep
	case len(ids) > 0:
		in.Members = slices.DeleteFunc(in.Members, func(m string) bool { return slices.Contains(ids, m) })
	default:
		in.Members = nil
	}
	return nil
}
