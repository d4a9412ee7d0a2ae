package sqlstore

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

func TestAuthCache_PutAfterInvalidationIsDropped(t *testing.T) {
	var c authCache
	tok := store.Token{ID: "t1", UserID: "u", Hash: "h1"}
	// A lookup misses, then the token is revoked while the row is read:
	// the stale row must not enter the cache.
	_, ok, gen := c.token("h1")
	if ok {
		t.Fatal("empty cache hit")
	}
	c.dropToken("t1")
	c.putToken(gen, tok)
	if _, ok, _ := c.token("h1"); ok {
		t.Error("a row read before a revocation was cached after it")
	}
	_, _, gen = c.token("h1")
	c.putToken(gen, tok)
	if got, ok, _ := c.token("h1"); !ok || got != tok {
		t.Errorf("token = %+v, %v; want it cached", got, ok)
	}

	sess := store.Session{Hash: "s1", UserID: "u"}
	_, _, gen = c.session("s1")
	c.dropUserSessions("u")
	c.putSession(gen, sess)
	if _, ok, _ := c.session("s1"); ok {
		t.Error("a session read before a revocation was cached after it")
	}
}

func TestAuthCache_Drops(t *testing.T) {
	var c authCache
	put := func() {
		_, _, gen := c.token("")
		for _, tok := range []store.Token{{ID: "t1", UserID: "u", Hash: "h1"}, {ID: "t2", UserID: "v", Hash: "h2"}} {
			c.putToken(gen, tok)
		}
		for _, s := range []store.Session{{Hash: "s1", UserID: "u"}, {Hash: "s2", UserID: "v"}, {Hash: "s3", UserID: "u"}} {
			c.putSession(gen, s)
		}
	}
	has := func(tokens []string, sessions []string) {
		t.Helper()
		var gotT, gotS []string
		for _, h := range []string{"h1", "h2"} {
			if _, ok, _ := c.token(h); ok {
				gotT = append(gotT, h)
			}
		}
		for _, h := range []string{"s1", "s2", "s3"} {
			if _, ok, _ := c.session(h); ok {
				gotS = append(gotS, h)
			}
		}
		if !equal(gotT, tokens) || !equal(gotS, sessions) {
			t.Errorf("cached tokens %v sessions %v; want %v %v", gotT, gotS, tokens, sessions)
		}
	}
	put()
	has([]string{"h1", "h2"}, []string{"s1", "s2", "s3"})
	c.dropToken("t2")
	c.dropSession("s2")
	has([]string{"h1"}, []string{"s1", "s3"})
	put()
	c.dropUserSessions("u")
	has([]string{"h1", "h2"}, []string{"s2"})
	put()
	c.dropUser("u")
	has([]string{"h2"}, []string{"s2"})
	put()
	c.purge()
	has(nil, nil)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAuthCache_ExpiresAndIsBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	c := authCache{now: func() time.Time { return now }}
	_, _, gen := c.token("h")
	c.putToken(gen, store.Token{ID: "t", Hash: "h"})
	now = now.Add(authCacheTTL - time.Second)
	if _, ok, _ := c.token("h"); !ok {
		t.Error("the token expired early")
	}
	now = now.Add(time.Second)
	if _, ok, _ := c.token("h"); ok {
		t.Error("the token outlived authCacheTTL")
	}
	for i := range authCacheMax + 100 {
		h := string(rune('a'+i%26)) + time.Duration(i).String()
		c.putToken(gen, store.Token{ID: h, Hash: h})
		c.putSession(gen, store.Session{Hash: h})
	}
	if len(c.tokens) > authCacheMax || len(c.sessions) > authCacheMax {
		t.Errorf("%d tokens and %d sessions cached, more than %d", len(c.tokens), len(c.sessions), authCacheMax)
	}
}

// TestAuthCache_Store checks that every revocation the store offers
// reaches a warm cache in the same call.
func TestAuthCache_Store(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := mustOpen(t, dsn)
		mustPutAccount(t, s, access.Account{ID: "A", Name: "A"})
		for _, u := range []access.User{
			{ID: "staff", Kind: access.KindInternal, StaffRole: access.StaffAdmin, Status: access.StatusActive},
			{ID: "ext", Kind: access.KindExternal, HomeAccount: "A", Status: access.StatusActive},
		} {
			mustPutUser(t, s, u)
		}
		newSession := func(hash, user string) {
			t.Helper()
			if err := s.CreateSession(ctx, store.Session{Hash: hash, UserID: user}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SessionByHash(ctx, hash); err != nil { // warm
				t.Fatal(err)
			}
		}
		newToken := func(hash string) store.Token {
			t.Helper()
			tok, _, err := s.CreateToken(ctx, store.Write{Actor: "admin"}, store.Token{UserID: "staff", Name: hash, Hash: hash})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.TokenByHash(ctx, hash); err != nil { // warm
				t.Fatal(err)
			}
			return tok
		}
		goneSession := func(hash, after string) {
			t.Helper()
			if _, err := s.SessionByHash(ctx, hash); access.ErrorCode(err) != access.CodeNotFound {
				t.Errorf("session %s after %s: %v, want not_found", hash, after, err)
			}
		}
		goneToken := func(hash, after string) {
			t.Helper()
			if _, err := s.TokenByHash(ctx, hash); access.ErrorCode(err) != access.CodeNotFound {
				t.Errorf("token %s after %s: %v, want not_found", hash, after, err)
			}
		}

		tok := newToken("tok1")
		if _, err := s.DeleteToken(ctx, store.Write{Actor: "admin"}, tok.ID); err != nil {
			t.Fatal(err)
		}
		goneToken("tok1", "DeleteToken")

		newSession("s1", "ext")
		if err := s.DeleteSession(ctx, "s1"); err != nil {
			t.Fatal(err)
		}
		goneSession("s1", "DeleteSession")
		if err := s.DeleteSession(ctx, "s1"); err != nil {
			t.Errorf("DeleteSession of a gone session: %v", err)
		}

		newSession("s2", "ext")
		if err := s.DeleteUserSessions(ctx, "ext"); err != nil {
			t.Fatal(err)
		}
		goneSession("s2", "DeleteUserSessions")

		newSession("s3", "ext")
		if _, err := s.SetPassword(ctx, store.Write{Actor: "admin"}, "ext", "hash"); err != nil {
			t.Fatal(err)
		}
		goneSession("s3", "SetPassword")

		newSession("s4", "ext")
		if _, _, err := s.PutUser(ctx, store.Write{Actor: "admin"}, access.User{ID: "ext", Kind: access.KindExternal, HomeAccount: "A", Status: access.StatusDisabled}); err != nil {
			t.Fatal(err)
		}
		goneSession("s4", "disabling the user")

		newToken("tok2")
		newSession("s5", "staff")
		if _, err := s.DeleteUser(ctx, store.Write{Actor: "admin"}, "staff"); err != nil {
			t.Fatal(err)
		}
		goneToken("tok2", "DeleteUser")
		goneSession("s5", "DeleteUser")

		// TouchSession keeps the cached session in step.
		mustPutUser(t, s, access.User{ID: "u2", Kind: access.KindExternal, HomeAccount: "A", Status: access.StatusActive})
		newSession("s6", "u2")
		at := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
		if err := s.TouchSession(ctx, "s6", at); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SessionByHash(ctx, "s6"); err != nil || !got.LastSeen.Equal(at) {
			t.Errorf("session after touch: %+v, %v; want last seen %v", got, err, at)
		}
	})
}

// TestAuthCache_RevokeRace hammers TokenByHash while the token is revoked:
// once DeleteToken has returned, no lookup may find it.
func TestAuthCache_RevokeRace(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, t.TempDir()+"/race.db")
	mustPutUser(t, s, access.User{ID: "staff", Kind: access.KindInternal, StaffRole: access.StaffAdmin, Status: access.StatusActive})
	for round := range 20 {
		hash := "race-" + string(rune('a'+round))
		tok, _, err := s.CreateToken(ctx, store.Write{Actor: "admin"}, store.Token{UserID: "staff", Name: hash, Hash: hash})
		if err != nil {
			t.Fatal(err)
		}
		var revoked atomic.Bool
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 200 {
					after := revoked.Load()
					_, err := s.TokenByHash(ctx, hash)
					if after && err == nil {
						t.Errorf("round %d: a revoked token was found", round)
						return
					}
				}
			}()
		}
		if _, err := s.DeleteToken(ctx, store.Write{Actor: "admin"}, tok.ID); err != nil {
			t.Fatal(err)
		}
		revoked.Store(true)
		wg.Wait()
	}
}
