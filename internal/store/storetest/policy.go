package storetest

import (
	"bytes"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// extraRole is a role appended to the default policy's roles list.
const extraRole = `
  - name: L15
    title: Basic with orders
    level: 15
    includes: [L10]
    assignable: true
    permissions:
      sales_order: {actions: [read]}
`

// withExtraRole returns the default policy source plus role L15.
func withExtraRole(t *testing.T) []byte {
	t.Helper()
	src := policy.DefaultYAML()
	i := bytes.Index(src, []byte("\nroles:\n"))
	if i < 0 {
		t.Fatal("default policy has no top-level roles: key")
	}
	i += len("\nroles:\n")
	out := append([]byte{}, src[:i]...)
	out = append(out, []byte(extraRole[1:])...)
	return append(out, src[i:]...)
}

// unprotected returns the default policy source with L90 unprotected.
func unprotected(t *testing.T) []byte {
	t.Helper()
	src := policy.DefaultYAML()
	old := []byte("    includes: [L80]\n    protected: true\n")
	if !bytes.Contains(src, old) {
		t.Fatal("default policy: L90 not found as expected")
	}
	return bytes.Replace(src, old, []byte("    includes: [L80]\n    assignable: true\n"), 1)
}

func testPolicy(t *testing.T, b Backend) {
	t.Run("Default", func(t *testing.T) {
		s := open(t, b)
		pv, err := s.Policy(ctx(t))
		if err != nil {
			t.Fatalf("Policy: %v", err)
		}
		if pv.Policy == nil {
			t.Fatal("Policy() has no compiled policy")
		}
		if pv.Policy.Role("L90") == nil || pv.Policy.Document().DefaultGroupRole != "L10" {
			t.Error("a fresh store does not serve the built-in default policy")
		}
		if s.Engine().Policy().Role("L90") == nil {
			t.Error("the engine does not hold the default policy")
		}
	})

	t.Run("Put", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := open(t, b)
			before, _ := s.Policy(ctx(t))
			src := withExtraRole(t)
			pv, rev, err := s.PutPolicy(ctx(t), by, src)
			if err != nil {
				t.Fatalf("PutPolicy: %v", err)
			}
			if pv.Version <= before.Version {
				t.Errorf("new version %d, not after %d", pv.Version, before.Version)
			}
			if pv.Source != string(src) || pv.CreatedBy != actor || pv.CreatedAt.IsZero() {
				t.Errorf("PutPolicy returned source %d bytes (want %d), created_by %q, created_at %v",
					len(pv.Source), len(src), pv.CreatedBy, pv.CreatedAt)
			}
			if rev <= 0 || s.Revision() < rev {
				t.Errorf("rev %d, Revision() %d", rev, s.Revision())
			}
			cur, err := s.Policy(ctx(t))
			if err != nil || cur.Version != pv.Version || cur.Source != string(src) {
				t.Errorf("Policy() = version %d, %v; want version %d with the new source", cur.Version, err, pv.Version)
			}
			if cur.Policy == nil || cur.Policy.Role("L15") == nil {
				t.Error("Policy() lacks the new role")
			}
			if s.Engine().Policy().Role("L15") == nil {
				t.Error("the engine does not use the new policy")
			}
			versions, err := s.PolicyVersions(ctx(t))
			if err != nil {
				t.Fatalf("PolicyVersions: %v", err)
			}
			found := false
			for _, v := range versions {
				if v.Version == pv.Version {
					found = true
				}
				if v.Policy != nil {
					t.Errorf("PolicyVersions: version %d carries a compiled policy (nil in version lists)", v.Version)
				}
			}
			if !found {
				t.Errorf("PolicyVersions %+v lacks version %d", versions, pv.Version)
			}
			// The new role works for grants at once.
			mustPutAccount(t, s, account("A", ""))
			mustPutUser(t, s, external("u", "A"))
			mustCreateGrant(t, s, grant("user:u", "A", "L15"))

			// A second version.
			pv2, _, err := s.PutPolicy(ctx(t), by, src)
			if err != nil {
				t.Fatalf("PutPolicy again: %v", err)
			}
			if pv2.Version <= pv.Version {
				t.Errorf("second version %d, not after %d", pv2.Version, pv.Version)
			}
			versions, _ = s.PolicyVersions(ctx(t))
			n := 0
			for _, v := range versions {
				if v.Version == pv.Version || v.Version == pv2.Version {
					n++
				}
			}
			if n != 2 {
				t.Errorf("PolicyVersions %+v lacks one of versions %d, %d", versions, pv.Version, pv2.Version)
			}
		})
		t.Run("ErrRemoveRoleInUse", func(t *testing.T) {
			s := open(t, b)
			if _, _, err := s.PutPolicy(ctx(t), by, withExtraRole(t)); err != nil {
				t.Fatalf("PutPolicy: %v", err)
			}
			mustPutAccount(t, s, account("A", ""))
			mustPutUser(t, s, external("u", "A"))
			mustCreateGrant(t, s, grant("user:u", "A", "L15"))
			cur, _ := s.Policy(ctx(t))
			_, _, err := s.PutPolicy(ctx(t), by, policy.DefaultYAML())
			wantCode(t, err, access.CodeConflict)
			if after, _ := s.Policy(ctx(t)); after.Version != cur.Version {
				t.Errorf("a rejected policy became current: version %d, was %d", after.Version, cur.Version)
			}
			if s.Engine().Policy().Role("L15") == nil {
				t.Error("the engine dropped the role in use")
			}
		})
		t.Run("RemoveRoleNotInUse", func(t *testing.T) {
			s := open(t, b)
			if _, _, err := s.PutPolicy(ctx(t), by, withExtraRole(t)); err != nil {
				t.Fatalf("PutPolicy: %v", err)
			}
			if _, _, err := s.PutPolicy(ctx(t), by, policy.DefaultYAML()); err != nil {
				t.Errorf("removing a role no grant uses: %v", err)
			}
		})
		t.Run("ErrUnprotect", func(t *testing.T) {
			s := open(t, b)
			mustPutAccount(t, s, account("A", ""))
			mustPutUser(t, s, external("owner", "A"))
			mustCreateGrant(t, s, grant("user:owner", "A", "L90"))
			_, _, err := s.PutPolicy(ctx(t), by, unprotected(t))
			wantCode(t, err, access.CodeConflict)
			if !s.Engine().Policy().Role("L90").Protected {
				t.Error("the engine's L90 is no longer protected")
			}
		})
		t.Run("ErrInvalidYAML", func(t *testing.T) {
			s := open(t, b)
			before, _ := s.Policy(ctx(t))
			for _, src := range []string{
				"roles: [unclosed",
				"roles:\n  - name: X\n    level: 1\n    includes: [Nope]\n",
				"",
			} {
				_, _, err := s.PutPolicy(ctx(t), by, []byte(src))
				wantCode(t, err, access.CodeInvalid)
			}
			after, _ := s.Policy(ctx(t))
			if after.Version != before.Version {
				t.Errorf("an invalid policy became current: version %d, was %d", after.Version, before.Version)
			}
		})
	})
}
