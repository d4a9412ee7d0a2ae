package storetest

import (
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

func testTokens(t *testing.T, b Backend) {
	s := open(t, b)
	mustPutUser(t, s, internal("staff", access.StaffAdmin))
	mustPutUser(t, s, internal("other", access.StaffAccessManager))

	var t1, t2 store.Token
	t.Run("Create", func(t *testing.T) {
		before := time.Now().Add(-time.Minute)
		var rev int64
		var err error
		t1, rev, err = s.CreateToken(ctx(t), by, store.Token{UserID: "staff", Name: "erp sync", Hash: "h-erp"})
		if err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		if t1.ID == "" || t1.UserID != "staff" || t1.Name != "erp sync" || t1.CreatedAt.Before(before) {
			t.Errorf("CreateToken returned %+v", t1)
		}
		if rev <= 0 || s.Revision() < rev {
			t.Errorf("rev %d, Revision() %d", rev, s.Revision())
		}
		t2, _, err = s.CreateToken(ctx(t), by, store.Token{UserID: "staff", Name: "crm", Hash: "h-crm"})
		if err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
		if t2.ID == t1.ID {
			t.Errorf("two tokens share id %s", t1.ID)
		}
		if _, _, err := s.CreateToken(ctx(t), by, store.Token{UserID: "other", Name: "x", Hash: "h-other"}); err != nil {
			t.Fatalf("CreateToken: %v", err)
		}
	})
	t.Run("ByHash", func(t *testing.T) {
		got, err := s.TokenByHash(ctx(t), "h-erp")
		if err != nil {
			t.Fatalf("TokenByHash: %v", err)
		}
		if got.ID != t1.ID || got.UserID != "staff" || got.Name != "erp sync" {
			t.Errorf("TokenByHash = %+v, want %+v", got, t1)
		}
		_, err = s.TokenByHash(ctx(t), "h-unknown")
		wantCode(t, err, access.CodeNotFound)
	})
	t.Run("List", func(t *testing.T) {
		toks, err := s.ListTokens(ctx(t), "staff")
		if err != nil {
			t.Fatalf("ListTokens: %v", err)
		}
		var got []string
		for _, tk := range toks {
			got = append(got, tk.ID)
			if tk.UserID != "staff" {
				t.Errorf("ListTokens(staff) returned a token of %s", tk.UserID)
			}
		}
		want := []string{t1.ID, t2.ID}
		sort.Strings(got)
		sort.Strings(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if _, err := s.DeleteToken(ctx(t), by, t1.ID); err != nil {
			t.Fatalf("DeleteToken: %v", err)
		}
		_, err := s.TokenByHash(ctx(t), "h-erp")
		wantCode(t, err, access.CodeNotFound)
		if _, err := s.TokenByHash(ctx(t), "h-crm"); err != nil {
			t.Errorf("the other token went too: %v", err)
		}
		toks, _ := s.ListTokens(ctx(t), "staff")
		if len(toks) != 1 || toks[0].ID != t2.ID {
			t.Errorf("ListTokens after delete = %+v", toks)
		}
	})
	t.Run("Delete/ErrNotFound", func(t *testing.T) {
		_, err := s.DeleteToken(ctx(t), by, "nope")
		wantCode(t, err, access.CodeNotFound)
	})
}

func testSessions(t *testing.T, b Backend) {
	s := open(t, b)
	mustPutUser(t, s, internal("staff", access.StaffAdmin))
	mustPutUser(t, s, internal("other", access.StaffAdmin))
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	t.Run("Create", func(t *testing.T) {
		for _, sess := range []store.Session{
			{Hash: "s1", UserID: "staff", CreatedAt: t0, LastSeen: t0},
			{Hash: "s2", UserID: "staff", CreatedAt: t0, LastSeen: t0},
			{Hash: "s3", UserID: "other", CreatedAt: t0, LastSeen: t0},
		} {
			if err := s.CreateSession(ctx(t), sess); err != nil {
				t.Fatalf("CreateSession(%s): %v", sess.Hash, err)
			}
		}
		got, err := s.SessionByHash(ctx(t), "s1")
		if err != nil {
			t.Fatalf("SessionByHash: %v", err)
		}
		want := store.Session{Hash: "s1", UserID: "staff", CreatedAt: t0, LastSeen: t0}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("ByHash/ErrNotFound", func(t *testing.T) {
		_, err := s.SessionByHash(ctx(t), "nope")
		wantCode(t, err, access.CodeNotFound)
	})
	t.Run("Touch", func(t *testing.T) {
		t1 := t0.Add(90 * time.Minute)
		if err := s.TouchSession(ctx(t), "s1", t1); err != nil {
			t.Fatalf("TouchSession: %v", err)
		}
		got, _ := s.SessionByHash(ctx(t), "s1")
		if !got.LastSeen.Equal(t1) || !got.CreatedAt.Equal(t0) {
			t.Errorf("after touch: created %v, last seen %v; want %v, %v", got.CreatedAt, got.LastSeen, t0, t1)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if err := s.DeleteSession(ctx(t), "s1"); err != nil {
			t.Fatalf("DeleteSession: %v", err)
		}
		_, err := s.SessionByHash(ctx(t), "s1")
		wantCode(t, err, access.CodeNotFound)
		if _, err := s.SessionByHash(ctx(t), "s2"); err != nil {
			t.Errorf("another session went too: %v", err)
		}
	})
	t.Run("DeleteUserSessions", func(t *testing.T) {
		if err := s.DeleteUserSessions(ctx(t), "staff"); err != nil {
			t.Fatalf("DeleteUserSessions: %v", err)
		}
		_, err := s.SessionByHash(ctx(t), "s2")
		wantCode(t, err, access.CodeNotFound)
		if _, err := s.SessionByHash(ctx(t), "s3"); err != nil {
			t.Errorf("another user's session went too: %v", err)
		}
	})
}
