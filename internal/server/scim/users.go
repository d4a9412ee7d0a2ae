package scim

import (
	"cmp"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
)

// flexBool is a SCIM boolean that also accepts the strings "true" and
// "false" in any case (Entra ID sends "False").
type flexBool struct {
	Set, Value bool
}

func (b flexBool) MarshalJSON() ([]byte, error) { return json.Marshal(b.Value) }

func (b *flexBool) UnmarshalJSON(data []byte) error {
	v, ok := parseBool(json.RawMessage(data))
	if !ok {
		return badRequest("invalidValue", "active must be true or false")
	}
	*b = flexBool{Set: true, Value: v}
	return nil
}

// parseBool reads a JSON boolean or a string "true"/"false".
func parseBool(raw json.RawMessage) (bool, bool) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

type personName struct {
	Formatted  string `json:"formatted,omitempty"`
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
}

type email struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

type ref struct {
	Value   string `json:"value"`
	Display string `json:"display,omitempty"`
	Ref     string `json:"$ref,omitempty"`
}

type enterprise struct {
	Organization string `json:"organization,omitempty"`
}

// userResource is a SCIM User as read and written.
type userResource struct {
	Schemas     []string    `json:"schemas"`
	ID          string      `json:"id,omitempty"`
	ExternalID  string      `json:"externalId,omitempty"`
	UserName    string      `json:"userName"`
	DisplayName string      `json:"displayName,omitempty"`
	Name        *personName `json:"name,omitempty"`
	Emails      []email     `json:"emails,omitempty"`
	Active      flexBool    `json:"active"`
	Locale      string      `json:"locale,omitempty"`
	Groups      []ref       `json:"groups,omitempty"`
	Enterprise  *enterprise `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User,omitempty"`
	Meta        *meta       `json:"meta,omitempty"`
}

func (s *Surface) userOut(r *http.Request, u app.SCIMUser) userResource {
	base := s.baseURL(r) + Prefix
	out := userResource{Schemas: []string{SchemaUser, SchemaEnterprise}, ID: u.ID, ExternalID: u.ExternalID, UserName: u.UserName,
		DisplayName: u.DisplayName, Name: &personName{Formatted: u.DisplayName},
		Emails: []email{{Value: u.UserName, Type: "work", Primary: true}}, Active: flexBool{true, u.Active}, Locale: u.Locale,
		Enterprise: &enterprise{Organization: u.HomeAccount}, Meta: &meta{ResourceType: "User", Location: base + "/Users/" + u.ID}}
	for _, g := range u.Groups {
		out.Groups = append(out.Groups, ref{Value: g.ID, Display: g.DisplayName, Ref: base + "/Groups/" + g.ID})
	}
	return out
}

// input turns a written User into the use case's input: userName is the
// email (the primary or first of emails when userName is empty), the
// displayName, else name.formatted, else given and family name; active
// defaults to true.
func (u userResource) input() app.SCIMUserInput {
	in := app.SCIMUserInput{UserName: u.UserName, DisplayName: u.DisplayName, ExternalID: u.ExternalID,
		Locale: locale(u.Locale)}
	if u.Active.Set {
		in.Active = &u.Active.Value
	}
	if in.UserName == "" {
		for i, e := range u.Emails {
			if e.Primary || i == 0 {
				in.UserName = e.Value
			}
		}
	}
	if in.DisplayName == "" && u.Name != nil {
		in.DisplayName = u.Name.Formatted
		if in.DisplayName == "" {
			in.DisplayName = strings.TrimSpace(u.Name.GivenName + " " + u.Name.FamilyName)
		}
	}
	if u.Enterprise != nil {
		in.HomeAccount = u.Enterprise.Organization
	}
	return in
}

// emailLookup is the email of a filter `userName eq "x"` (or
// emails.value), which the app answers with one lookup; "" otherwise. The
// filter still runs on the answer.
func emailLookup(f filter.Expression) string {
	e, ok := f.(*filter.AttributeExpression)
	if !ok || e.Operator != filter.EQ || e.AttributePath.URI() != "" && e.AttributePath.URI() != SchemaUser {
		return ""
	}
	name := strings.ToLower(e.AttributePath.AttributeName)
	sub := strings.ToLower(e.AttributePath.SubAttributeName())
	v, _ := e.CompareValue.(string)
	if name == "username" && sub == "" || name == "emails" && sub == "value" {
		return v
	}
	return ""
}

func userAttrs(u app.SCIMUser) attrs {
	return func(name, sub string) ([]any, bool) {
		switch name + "." + sub {
		case "username.":
			return []any{u.UserName}, true
		case "emails.", "emails.value":
			return []any{u.UserName}, true
		case "emails.type":
			return []any{"work"}, true
		case "emails.primary":
			return []any{true}, true
		case "externalid.":
			return []any{u.ExternalID}, true
		case "displayname.", "name.formatted":
			return []any{u.DisplayName}, true
		case "active.":
			return []any{u.Active}, true
		case "id.":
			return []any{u.ID}, true
		case "organization.":
			return []any{u.HomeAccount}, true
		}
		return nil, false
	}
}

func (s *Surface) handleListUsers(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	f, err := parseFilter(r.URL.Query().Get("filter"))
	if err != nil {
		return err
	}
	users, err := s.app.ListSCIMUsers(r.Context(), c, emailLookup(f))
	if err != nil {
		return err
	}
	return writeList(w, r, f, users, userAttrs, func(u app.SCIMUser) userResource { return s.userOut(r, u) })
}

func (s *Surface) handleGetUser(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	u, err := s.app.GetSCIMUser(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.userOut(r, u))
	return nil
}

func (s *Surface) handleCreateUser(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in userResource
	if err := decode(r, &in); err != nil {
		return err
	}
	u, rev, err := s.app.CreateSCIMUser(r.Context(), c, in.input())
	if err != nil {
		return err
	}
	return s.writeUser(w, r, http.StatusCreated, u, rev)
}

func (s *Surface) writeUser(w http.ResponseWriter, r *http.Request, status int, u app.SCIMUser, rev int64) error {
	out := s.userOut(r, u)
	return writeResource(w, status, rev, out.Meta.Location, out)
}

func (s *Surface) handleReplaceUser(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in userResource
	if err := decode(r, &in); err != nil {
		return err
	}
	u, rev, err := s.app.ReplaceSCIMUser(r.Context(), c, r.PathValue("id"), in.input())
	if err != nil {
		return err
	}
	return s.writeUser(w, r, http.StatusOK, u, rev)
}

// patchRequest is a PatchOp message (RFC 7644 §3.5.2).
type patchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

func decodePatch(r *http.Request) ([]patchOp, error) {
	var p patchRequest
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	if len(p.Operations) == 0 {
		return nil, badRequest("invalidSyntax", "a PatchOp needs Operations")
	}
	for i, op := range p.Operations {
		p.Operations[i].Op = strings.ToLower(op.Op)
		switch p.Operations[i].Op {
		case "add", "replace", "remove":
		default:
			return nil, badRequest("invalidSyntax", "op must be add, replace or remove")
		}
		if p.Operations[i].Op != "remove" && len(op.Value) == 0 {
			return nil, badRequest("invalidValue", "op %s needs a value", op.Op)
		}
	}
	return p.Operations, nil
}

// applyPatch runs each operation through apply, an add or replace without
// path (its value an object of attributes) as one operation per attribute.
func applyPatch(ops []patchOp, apply func(op, path string, v json.RawMessage) error) error {
	for _, op := range ops {
		if op.Path != "" {
			if err := apply(op.Op, op.Path, op.Value); err != nil {
				return err
			}
			continue
		}
		if op.Op == "remove" {
			return badRequest("noTarget", "remove needs a path")
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(op.Value, &m); err != nil {
			return badRequest("invalidValue", "an operation without path needs an object value")
		}
		for k, v := range m {
			if err := apply(op.Op, k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// filterPart is a value filter inside a path, as in emails[type eq "work"].value.
var filterPart = regexp.MustCompile(`\[[^\]]*\]`)

func (s *Surface) handlePatchUser(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	ops, err := decodePatch(r)
	if err != nil {
		return err
	}
	cur, err := s.app.GetSCIMUser(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	in := app.SCIMUserInput{UserName: cur.UserName, DisplayName: cur.DisplayName, ExternalID: cur.ExternalID,
		Active: &cur.Active, HomeAccount: cur.HomeAccount, Locale: cur.Locale}
	if err := applyPatch(ops, func(op, path string, v json.RawMessage) error { return patchUser(&in, op, path, v) }); err != nil {
		return err
	}
	u, rev, err := s.app.ReplaceSCIMUser(r.Context(), c, cur.ID, in)
	if err != nil {
		return err
	}
	return s.writeUser(w, r, http.StatusOK, u, rev)
}

// locale maps a SCIM locale or preferredLanguage ("de-CH", "en_US") to
// a Portcullis locale, or "" when it has none (the user's stays).
func locale(s string) string {
	l, _, _ := strings.Cut(strings.ToLower(strings.ReplaceAll(s, "_", "-")), "-")
	if slices.Contains(access.Locales, l) {
		return l
	}
	return ""
}

// patchUser applies one operation on the attribute path to in. Attributes
// Portcullis does not keep (title, phoneNumbers, ...) are accepted and
// ignored, so that an identity provider's default mappings work.
func patchUser(in *app.SCIMUserInput, op, path string, v json.RawMessage) error {
	p := strings.ToLower(filterPart.ReplaceAllString(strings.TrimSpace(path), ""))
	if rest, ok := strings.CutPrefix(p, strings.ToLower(SchemaEnterprise)); ok {
		p = "enterprise" + strings.Replace(rest, ":", ".", 1)
	} else {
		p = strings.TrimPrefix(p, strings.ToLower(SchemaUser)+":")
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
	var err error
	switch p {
	case "active":
		if op == "remove" {
			return badRequest("mutability", "active cannot be removed")
		}
		b, ok := parseBool(v)
		if !ok {
			return badRequest("invalidValue", "active must be true or false")
		}
		in.Active = &b
	case "username", "emails.value":
		in.UserName, err = str()
	case "emails":
		if op == "remove" {
			return badRequest("mutability", "the email is the userName and cannot be removed")
		}
		var es []email
		if json.Unmarshal(v, &es) != nil || len(es) == 0 {
			return badRequest("invalidValue", "emails must be a list of {value}")
		}
		in.UserName = es[0].Value
		for _, e := range es {
			if e.Primary {
				in.UserName = e.Value
			}
		}
	case "displayname", "name.formatted":
		in.DisplayName, err = str()
	case "externalid":
		in.ExternalID, err = str()
	case "locale", "preferredlanguage":
		var l string
		if l, err = str(); l != "" {
			in.Locale = cmp.Or(locale(l), in.Locale)
		}
	case "enterprise.organization":
		in.HomeAccount, err = str()
	case "name":
		var n personName
		if op != "remove" && json.Unmarshal(v, &n) == nil {
			if n.Formatted == "" {
				n.Formatted = strings.TrimSpace(n.GivenName + " " + n.FamilyName)
			}
			if n.Formatted != "" {
				in.DisplayName = n.Formatted
			}
		}
	case "enterprise":
		var e enterprise
		if op != "remove" && json.Unmarshal(v, &e) == nil && e.Organization != "" {
			in.HomeAccount = e.Organization
		}
	case "id", "meta", "groups", "schemas":
		return badRequest("mutability", "%s cannot be changed", path)
	}
	return err
}
