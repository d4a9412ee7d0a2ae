package access_test

import (
	"errors"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// TestValidate holds the model's shape rules (the one place they live) to
// their error codes and the Field each names.
func TestValidate(t *testing.T) {
	pol := policy.Default()
	ext := func(mut func(u *access.User)) func() error {
		return func() error {
			u := access.User{ID: "u1", Kind: access.KindExternal, Email: "u1@example.com", HomeAccount: "C1", Status: access.StatusActive}
			mut(&u)
			return u.Validate(pol)
		}
	}
	grant := func(mut func(g *access.Grant)) func() error {
		return func() error {
			g := access.Grant{Principal: "user:u1", Account: "C1", Role: "L20"}
			mut(&g)
			return g.Validate(pol)
		}
	}
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	neg := -1
	for _, tc := range []struct {
		name  string
		check func() error
		field string // "" means valid
	}{
		{"UserValid", ext(func(u *access.User) {}), ""},
		{"UserBadID", ext(func(u *access.User) { u.ID = "a b" }), "id"},
		{"UserBadEmail", ext(func(u *access.User) { u.Email = "not an address" }), "email"},
		{"UserEmailWithName", ext(func(u *access.User) { u.Email = "U One <u1@example.com>" }), "email"},
		{"UserBadStatus", ext(func(u *access.User) { u.Status = "paused" }), "status"},
		{"UserBadKind", ext(func(u *access.User) { u.Kind = "robot" }), "kind"},
		{"ExternalWithoutHome", ext(func(u *access.User) { u.HomeAccount = "" }), "home_account"},
		{"ExternalWithStaffRole", ext(func(u *access.User) { u.StaffRole = access.StaffAdmin }), "staff_role"},
		{"ExternalUnknownConstraintType", ext(func(u *access.User) { u.Constraints = map[string]map[string][]string{"nope": {"a": {"x"}}} }), "constraints"},
		{"ExternalEmptyConstraint", ext(func(u *access.User) { u.Constraints = map[string]map[string][]string{"ticket": {"type": {}}} }), "constraints"},
		{"ExternalConstraintValid", ext(func(u *access.User) {
			u.Constraints = map[string]map[string][]string{"ticket": {"status": {"new", "closed"}, "type": {"question"}}}
		}), ""},
		{"ExternalConstraintUndeclaredField", ext(func(u *access.User) { u.Constraints = map[string]map[string][]string{"ticket": {"staus": {"new"}}} }), "constraints"},
		{"ExternalConstraintUndeclaredValue", ext(func(u *access.User) { u.Constraints = map[string]map[string][]string{"ticket": {"type": {"bogus"}}} }), "constraints"},
		{"ExternalConstraintFreeField", ext(func(u *access.User) {
			u.Constraints = map[string]map[string][]string{"ticket": {"title": {"anything"}}}
		}), ""},
		{"InternalWithoutStaffRole", ext(func(u *access.User) { u.Kind, u.HomeAccount = access.KindInternal, "" }), "staff_role"},
		{"InternalWithHome", ext(func(u *access.User) { u.Kind, u.StaffRole = access.KindInternal, access.StaffAuditor }), "home_account"},
		{"InternalValid", ext(func(u *access.User) {
			u.Kind, u.StaffRole, u.HomeAccount = access.KindInternal, access.StaffAuditor, ""
		}), ""},

		{"GrantValid", grant(func(g *access.Grant) {}), ""},
		{"GrantBadPrincipal", grant(func(g *access.Grant) { g.Principal = "account:C1" }), "principal"},
		{"GrantNoAccount", grant(func(g *access.Grant) { g.Account = "" }), "account"},
		{"GrantUnknownRole", grant(func(g *access.Grant) { g.Role = "L99" }), "role"},
		{"GrantBadScope", grant(func(g *access.Grant) { g.Scope = "tree" }), "scope"},
		{"GrantBadAccess", grant(func(g *access.Grant) { g.Access = "write" }), "access"},
		{"GrantNegativeDaysBack", grant(func(g *access.Grant) { g.DaysBack = &neg }), "days_back"},
		{"GrantEmptyValidity", grant(func(g *access.Grant) { g.ValidFrom, g.ValidUntil = &day, &day }), "valid_until"},
		{"GrantLongNotes", grant(func(g *access.Grant) { g.Notes = string(make([]byte, access.MaxNotes+1)) }), "notes"},

		{"AccountValid", func() error { a := access.Account{ID: "C1"}; return a.Validate() }, ""},
		{"AccountBadID", func() error { a := access.Account{ID: ""}; return a.Validate() }, "id"},
		{"AccountOwnParent", func() error { a := access.Account{ID: "C1", Parent: "C1"}; return a.Validate() }, "parent"},
		{"GroupBadID", func() error { g := access.Group{ID: "a/b"}; return g.Validate() }, "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid value refused: %v", err)
				}
				return
			}
			var e *access.Error
			if !errors.As(err, &e) || e.Code != access.CodeInvalid || e.Field != tc.field {
				t.Fatalf("got %#v, want invalid about %s", err, tc.field)
			}
		})
	}
}

// TestValidate_Normalizes checks the defaults Validate fills in.
func TestValidate_Normalizes(t *testing.T) {
	g := access.Grant{Principal: "user:u1", Account: "C1", Role: "L20"}
	if err := g.Validate(policy.Default()); err != nil || g.Scope != access.ScopeSubtree || g.Access != access.AccessReadWrite {
		t.Errorf("grant defaults: %+v, %v", g, err)
	}
	u := access.User{ID: "u1", Kind: access.KindExternal, Email: " u1@example.com ", HomeAccount: "C1", Status: access.StatusActive}
	if err := u.Validate(policy.Default()); err != nil || u.Email != "u1@example.com" || u.Name != "u1@example.com" {
		t.Errorf("user normalized: %+v, %v", u, err)
	}
	a := access.Account{ID: "C1", Name: "  "}
	if err := a.Validate(); err != nil || a.Name != "C1" {
		t.Errorf("account name: %+v, %v", a, err)
	}
}

// TestValidateRecord holds a record's shape rules (type, ids, date,
// parent_type, team entries, attribute size): the store trusts them.
func TestValidateRecord(t *testing.T) {
	e := access.NewEngine(policy.Default(), time.Now)
	big := string(make([]byte, access.MaxAttributesSize))
	for _, tc := range []struct {
		name string
		r    access.Record
		code string // "" means valid
	}{
		{"Valid", access.Record{Type: "inventory", ID: "i1", Date: "2024-02-29"}, ""},
		{"MissingParentIsFine", access.Record{Type: "shipment", ID: "s1", Parent: &access.Ref{Type: "sales_order", ID: "nope"}}, ""},
		{"ErrUnknownType", access.Record{Type: "nope", ID: "x"}, access.CodeNotFound},
		{"ErrParentType", access.Record{Type: "shipment", ID: "s1", Parent: &access.Ref{Type: "invoice", ID: "i1"}}, access.CodeInvalid},
		{"ErrParentOnTypeWithoutParent", access.Record{Type: "inventory", ID: "s1", Parent: &access.Ref{Type: "inventory", ID: "i1"}}, access.CodeInvalid},
		{"ErrBadID", access.Record{Type: "inventory", ID: "has space"}, access.CodeInvalid},
		{"ErrBadDate", access.Record{Type: "inventory", ID: "i1", Date: "2024-13-45"}, access.CodeInvalid},
		{"ErrBadTeam", access.Record{Type: "inventory", ID: "i1", Teams: []access.TeamEntry{{Principal: "group:x", Access: access.AccessRead}}}, access.CodeInvalid},
		{"ErrBadTeamAccess", access.Record{Type: "inventory", ID: "i1", Teams: []access.TeamEntry{{Principal: "user:x", Access: "write"}}}, access.CodeInvalid},
		{"ErrDuplicateTeam", access.Record{Type: "inventory", ID: "i1", Teams: []access.TeamEntry{
			{Principal: "user:x", Access: access.AccessRead}, {Principal: "user:x", Access: access.AccessReadWrite}}}, access.CodeInvalid},
		{"ErrAttributesTooLarge", access.Record{Type: "inventory", ID: "i1", Attributes: map[string]any{"blob": big}}, access.CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			if got := access.ErrorCode(e.ValidateRecord(&r)); got != tc.code {
				t.Errorf("ValidateRecord: code %q, want %q", got, tc.code)
			}
		})
	}
}
