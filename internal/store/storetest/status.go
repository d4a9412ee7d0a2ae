package storetest

import (
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// testUserStatus covers identity.md §3 in the store: invited and disabled
// end every session at once, a disabled internal user's tokens are deleted
// (not suspended), and last_login_at and locale are kept.
func testUserStatus(t *testing.T, b Backend) {
	now := time.Now().UTC().Truncate(time.Second)
	session := func(t *testing.T, s *instance, hash, user string) {
		t.Helper()
		if err := s.CreateSession(ctx(t), store.Session{Hash: hash, UserID: user, CreatedAt: now, LastSeen: now}); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if _, err := s.SessionByHash(ctx(t), hash); err != nil { // cached now
			t.Fatalf("SessionByHash: %v", err)
		}
	}
	for _, status := range []string{access.StatusInvited, access.StatusDisabled} {
		t.Run("EndsSessions/"+status, func(t *testing.T) {
			s := open(t, b)
			mustPutAccount(t, s, account("A", ""))
			u := external("u", "A")
			mustPutUser(t, s, u)
			mustPutUser(t, s, external("keep", "A"))
			session(t, s, "sess-u", "u")
			session(t, s, "sess-keep", "keep")
			u.Status = status
			mustPutUser(t, s, u)
			_, err := s.SessionByHash(ctx(t), "sess-u")
			wantCode(t, err, access.CodeNotFound)
			if _, err := s.SessionByHash(ctx(t), "sess-keep"); err != nil {
				t.Errorf("another user's session went: %v", err)
			}
		})
	}
	t.Run("DisabledRevokesTokens", func(t *testing.T) {
		s := open(t, b)
		staff := internal("staff", access.StaffAdmin)
		mustPutUser(t, s, staff)
		mustPutUser(t, s, internal("other", access.StaffAdmin))
		if _, _, err := s.CreateToken(ctx(t), by, store.Token{UserID: "staff", Name: "erp", Hash: "tokhash-1"}); err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		if _, _, err := s.CreateToken(ctx(t), by, store.Token{UserID: "other", Name: "crm", Hash: "tokhash-2"}); err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		if _, err := s.TokenByHash(ctx(t), "tokhash-1"); err != nil { // cached now
			t.Fatalf("TokenByHash: %v", err)
		}
		staff.Status = access.StatusDisabled
		mustPutUser(t, s, staff)
		staff.Status = access.StatusActive
		mustPutUser(t, s, staff) // re-enabling brings no token back
		_, err := s.TokenByHash(ctx(t), "tokhash-1")
		wantCode(t, err, access.CodeNotFound)
		if toks, err := s.ListTokens(ctx(t), "staff"); err != nil || len(toks) != 0 {
			t.Errorf("ListTokens after disabling = %+v, %v; want none", toks, err)
		}
		if _, err := s.TokenByHash(ctx(t), "tokhash-2"); err != nil {
			t.Errorf("another user's token went: %v", err)
		}
	})
	t.Run("InvitedKeepsTokens", func(t *testing.T) {
		// Only disabling revokes tokens; an invited internal user's are
		// refused while it is not active (app.AuthenticateToken).
		s := open(t, b)
		staff := internal("staff", access.StaffAdmin)
		mustPutUser(t, s, staff)
		if _, _, err := s.CreateToken(ctx(t), by, store.Token{UserID: "staff", Name: "erp", Hash: "tokhash-1"}); err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		staff.Status = access.StatusInvited
		mustPutUser(t, s, staff)
		if toks, err := s.ListTokens(ctx(t), "staff"); err != nil || len(toks) != 1 {
			t.Errorf("ListTokens = %+v, %v; want the token", toks, err)
		}
	})
	t.Run("RecordLogin", func(t *testing.T) {
		s := open(t, b)
		mustPutAccount(t, s, account("A", ""))
		u := external("u", "A")
		u.Locale = "de"
		rev := mustPutUser(t, s, u)
		if got, _ := s.GetUser(ctx(t), "u"); got.LastLoginAt != nil || got.Locale != "de" {
			t.Fatalf("GetUser = %+v; want no last login, locale de", got)
		}
		at := now.Add(-time.Hour)
		if err := s.RecordLogin(ctx(t), "u", at); err != nil {
			t.Fatalf("RecordLogin: %v", err)
		}
		if s.Revision() != rev {
			t.Errorf("RecordLogin bumped the revision to %d", s.Revision())
		}
		got, err := s.GetUser(ctx(t), "u")
		if err != nil || got.LastLoginAt == nil || !got.LastLoginAt.Equal(at) {
			t.Fatalf("GetUser = %+v, %v; want last login %v", got, err, at)
		}
		// A write of the user keeps last_login_at as stored.
		u.Name = "Renamed"
		mustPutUser(t, s, u)
		if got, _ := s.GetUser(ctx(t), "u"); got.LastLoginAt == nil || !got.LastLoginAt.Equal(at) {
			t.Errorf("after PutUser: LastLoginAt = %v, want %v", got.LastLoginAt, at)
		}
		if e, _ := s.Engine().User("u"); e.LastLoginAt != nil {
			t.Errorf("the engine keeps last_login_at %v", e.LastLoginAt)
		}
		wantCode(t, s.RecordLogin(ctx(t), "nobody", at), access.CodeNotFound)
	})
}
