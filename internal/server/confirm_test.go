package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// mustShowEffects fails unless the confirmation body shows every effect of
// the preview p: a row per (user, type, action) with the type's plural
// title, the action, the exact counts and the first sample records.
func mustShowEffects(t *testing.T, env *testEnv, body string, p app.Preview) {
	t.Helper()
	if len(p.Effects) == 0 {
		t.Fatal("the preview has no effects to show")
	}
	pol := env.server.App().Engine().Policy()
	for _, e := range p.Effects {
		u, _ := env.eng.User(e.User)
		if !strings.Contains(body, `href="/admin/users/`+e.User+`">`+u.Name+`</a>`) {
			t.Errorf("the confirmation does not name %s (%s)", u.Name, e.User)
		}
		num := func(prefix string, n int) string {
			if n == 0 {
				return `<span class="muted">0</span>`
			}
			return fmt.Sprintf(`%s%d</span>`, prefix, n)
		}
		row := `<th scope="row">` + pol.Type(e.Type).PluralIn("en") + `</th>\s*<td>` + e.Action + `</td>\s*<td>(<span class="tag ok">)?` +
			regexp.QuoteMeta(num("+", e.Gained)) + `</td>\s*<td>(<span class="tag no">)?` + regexp.QuoteMeta(num("−", e.Lost))
		if !regexp.MustCompile(row).MatchString(body) {
			t.Errorf("no row for %+v (want %s)", e, row)
		}
		for i, id := range append(e.SampleGained, e.SampleLost...) {
			if i < 3 && !strings.Contains(body, `href="/admin/records/`+e.Type+`/`+id+`"`) {
				t.Errorf("no link to sample %s/%s", e.Type, id)
			}
		}
	}
}

// TestConfirm_AddGrantShowsEffectsAndWritesNothing: the External Access
// panel's "Add grant" first shows the preview's exact effects (the same
// as POST /api/v1/preview's) and writes nothing; Save (confirm=yes)
// creates the grant.
func TestConfirm_AddGrantShowsEffectsAndWritesNothing(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		admin := env.as("admin")
		p := previewAnswer(t, env.bearer().do("POST", "/api/v1/preview", previewOf(map[string]any{"op": "grant.create",
			"grant": map[string]any{"principal": "user:other", "account": "C1", "role": "L30"}})))
		rev := env.st.Revision()
		form := url.Values{"principal": {"other@example.com"}, "role": {"L30"}, "scope": {"subtree"}, "access": {"read_write"},
			"days_back": {""}, "valid_from": {""}, "valid_until": {""}, "notes": {"via preview"}}
		res := admin.admPost("/admin/accounts/C1/grants", form)
		admStatus(t, res, 200)
		admHas(t, res, "Add this grant?", "other gets the role", "Acme Secret Corp (C1)", "1 user affected",
			`action="/admin/accounts/C1/grants"`, `name="confirm" value="yes"`, `name="notes" value="via preview"`,
			`name="principal" value="other@example.com"`, "Price", `href="/admin/accounts/C1#external-access"`)
		mustShowEffects(t, env, res.body, p)
		if gs, _, _ := env.st.ListGrants(ctx, store.GrantFilter{Principal: "user:other", Account: "C1"}); len(gs) != 0 || env.st.Revision() != rev {
			t.Fatalf("the preview wrote: grants %v, revision %d → %d", gs, rev, env.st.Revision())
		}

		form.Set("confirm", "yes")
		res = admin.admPost("/admin/accounts/C1/grants", form)
		admHas(t, res, "The grant was added")
		g := admGrantID(t, env, "user:other", "C1")

		// An invalid grant is the form's error, not a confirmation.
		res = admin.admPost("/admin/accounts/C1/grants", url.Values{"principal": {"u20"}, "role": {"L90"}, "days_back": {"5"}})
		admStatus(t, res, 400)
		admHas(t, res, `id="g-role-err"`)
		admLacks(t, res, `id="confirm-change"`)

		// Editing only the notes saves at once; a role change asks first.
		res = admin.admPost("/admin/accounts/C1/grants/"+g, url.Values{"notes": {"just notes"}})
		admHas(t, res, "The grant was saved")
		res = admin.admPost("/admin/accounts/C1/grants/"+g, url.Values{"role": {"L20"}})
		admHas(t, res, "Save the grant of other?", "Price")
		if gr, _ := env.st.GetGrant(ctx, g); gr.Role != "L30" {
			t.Fatalf("the edit was saved before its confirmation: %+v", gr)
		}

		// Removing shows what the user loses; only confirm=yes removes.
		p = previewAnswer(t, env.bearer().do("POST", "/api/v1/preview", previewOf(map[string]any{"op": "grant.delete", "id": g})))
		res = admin.admGet("/admin/accounts/C1?remove=" + g)
		admHas(t, res, `id="remove-grant"`, "What this changes")
		mustShowEffects(t, env, res.body, p)
		admPostNothing(t, env, admin, "/admin/accounts/C1/grants/"+g+"/remove", url.Values{})
	})
}

// admPostNothing posts a form without confirm=yes and fails when anything
// was written.
func admPostNothing(t *testing.T, env *testEnv, c *client, path string, form url.Values) response {
	t.Helper()
	rev := env.st.Revision()
	res := c.admPost(path, form)
	admStatus(t, res, 200)
	if got := env.st.Revision(); got != rev {
		t.Fatalf("POST %s without confirm=yes wrote (revision %d → %d)", path, rev, got)
	}
	return res
}

// TestConfirm_DestructiveConsoleChanges: switching external access off,
// leaving a group, a user's status, inherit and the policy editor each ask
// first, say what will change, and write only with confirm=yes.
func TestConfirm_DestructiveConsoleChanges(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		admin := env.as("admin")

		res := admPostNothing(t, env, admin, "/admin/accounts/C1/external-access", url.Values{})
		admHas(t, res, "Switch external users off on Acme Secret Corp (C1)?", "becomes inactive", `class="danger"`,
			"Secret Person u20", "Secret Person u30")
		p := previewAnswer(t, env.bearer().do("POST", "/api/v1/preview", previewOf(map[string]any{"op": "account.update", "id": "C1",
			"patch": map[string]any{"external_access": false}})))
		mustShowEffects(t, env, res.body, p)
		if !hasWarning(p, app.WarnOwnerAffected) || !strings.Contains(res.body, "An Owner would lose access: Secret Person owner holds the role") {
			t.Errorf("no owner_affected warning shown")
		}
		res = admin.admPost("/admin/accounts/C1/external-access", url.Values{"confirm": {"yes"}})
		admHas(t, res, "no longer allowed")
		if a, _ := env.st.GetAccount(ctx, "C1"); a.ExternalAccess {
			t.Fatal("external access still on after the confirmation")
		}

		res = admPostNothing(t, env, admin, "/admin/accounts/C1-ST1", url.Values{"name": {"Acme Sold-To"}, "kind": {"sold_to"}, "parent": {"C1"}})
		admHas(t, res, "stops inheriting access")

		res = admPostNothing(t, env, admin, "/admin/users/u20", url.Values{"kind": {"external"}, "name": {"Secret Person u20"},
			"email": {"u20@example.com"}, "home_account": {"C1"}, "status": {"disabled"}})
		admHas(t, res, "Change the status of Secret Person u20?", "from active to disabled")

		if _, err := env.st.AddMember(ctx, store.Write{Actor: "test"}, "acct:C1", "u10"); err != nil {
			t.Fatal(err)
		}
		res = admPostNothing(t, env, admin, "/admin/groups/acct:C1/members/u10/remove", url.Values{})
		admHas(t, res, "Remove Secret Person u10 from", `action="/admin/groups/acct:C1/members/u10/remove"`)

		pv, err := env.server.App().Policy(ctx, app.SystemActor("test"))
		if err != nil {
			t.Fatal(err)
		}
		res = admPostNothing(t, env, admin, "/admin/policy", url.Values{"source": {pv.Source}})
		admHas(t, res, "Save this policy?", `name="source"`, "Nobody gains or loses access", `name="confirm" value="back"`)
		// Back to the editor keeps the text as typed.
		edited := strings.Replace(pv.Source, "title: Basic", "title: Basic edited", 1)
		res = admPostNothing(t, env, admin, "/admin/policy", url.Values{"source": {edited}, "confirm": {"back"}})
		admHas(t, res, "Basic edited", `<textarea id="source" name="source"`)
		admLacks(t, res, `id="confirm-change"`)
	})
}

// TestConfirm_PortalSummary: a customer admin deactivating a colleague
// first sees one line of what the colleague loses, and nothing changes
// until it confirms.
func TestConfirm_PortalSummary(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, env *testEnv) {
		b := env.browse("adm80")
		// The revoke page says what revoking loses; under view as (an
		// auditor's) it shows the page without a preview.
		g := env.grantsOf("user:u20")[0].ID
		b.get("/a/C1/users/revoke?grant="+g).must(t, http.StatusOK, "Secret Person u20 loses read on 2 Sales orders", `name="confirm"`)
		env.browse("auditor").get("/admin/view-as/adm80/a/C1/users/revoke?grant="+g).must(t, http.StatusOK, "Revoke access")
		p := b.post("/a/C1/users/status", url.Values{"user": {"u20"}, "status": {"disabled"}})
		p.must(t, http.StatusOK, "Deactivate Secret Person u20?", "Secret Person u20 loses read on 2 Sales orders", `name="confirm" value="yes"`)
		if strings.Contains(p.body, "/admin/") {
			t.Error("the portal's confirmation links to the console")
		}
		if u, _ := env.st.GetUser(context.Background(), "u20"); u.Status != access.StatusActive {
			t.Fatalf("u20 is %s before the confirmation", u.Status)
		}
		b.post("/a/C1/users/status", url.Values{"user": {"u20"}, "status": {"disabled"}, "confirm": {"yes"}}).must(t, http.StatusOK, "The user was deactivated")

		// Giving a colleague more: its gains in one line, a broad exposure
		// without the number of records there are in all.
		if _, _, err := env.st.PutUser(context.Background(), store.Write{Actor: "test"}, access.User{ID: "fresh", Kind: access.KindExternal,
			Name: "Fresh Person", Email: "fresh@example.com", HomeAccount: "C1-ST1", Status: access.StatusActive}); err != nil {
			t.Fatal(err)
		}
		p = b.post("/a/C1/users/add", url.Values{"principal": {"user:fresh"}, "account": {"C1"}, "role": {"L30"}, "access": {"read_write"}})
		p.must(t, http.StatusOK, "Give Fresh Person this access?", "Fresh Person gains read on 2 Sales orders",
			"Broad exposure: Fresh Person would gain read on more than a fifth of all Sales orders.")
		if strings.Contains(p.body, "of all 3") {
			t.Error("the portal tells how many sales orders there are in all")
		}
		if gs := env.grantsOf("user:fresh"); len(gs) != 0 {
			t.Fatalf("fresh's grants before the confirmation: %+v", gs)
		}
	})
}

// TestConfirm_ChangeKeepsWhatWasTyped (portal.md §5, "nothing lost"):
// Change on a confirmation brings its form back with what was typed and
// saves nothing, in the console and in the portal; a forged target off
// the site is not followed.
func TestConfirm_ChangeKeepsWhatWasTyped(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, env *testEnv) {
		rev := env.st.Revision()
		onC1 := func() (n int) {
			for _, g := range env.grantsOf("user:other") {
				if g.Account == "C1" {
					n++
				}
			}
			return n
		}
		s := env.browse("admin")
		form := url.Values{"principal": {"other@example.com"}, "role": {"L30"}, "scope": {"subtree"}, "access": {"read_write"},
			"days_back": {"45"}, "notes": {"typed <once>"}}
		p := s.postFrom("/admin/accounts/C1", "/admin/accounts/C1/grants", form)
		p.must(t, http.StatusOK, "Add this grant?", `name="confirm" value="edit"`, `name="_edit" value="/admin/accounts/C1#external-access"`)
		form.Set("_page", "/admin/accounts/C1#external-access")
		form.Set("_edit", "/admin/accounts/C1#external-access")
		form.Set("confirm", "edit")
		p = s.postFrom("/admin/accounts/C1/grants", "/admin/accounts/C1/grants", form)
		p.must(t, http.StatusOK, "Nothing was saved. What you entered is filled in below", `>typed &lt;once&gt;</textarea>`, `name="days_back" type="number" min="0" inputmode="numeric" value="45"`)
		if !strings.HasPrefix(p.url, "/admin/accounts/C1") || env.st.Revision() != rev || onC1() != 0 {
			t.Fatalf("after Change: at %s, revision %d → %d, grants on C1 %d", p.url, rev, env.st.Revision(), onC1())
		}
		// Read once.
		s.get("/admin/accounts/C1").mustNot(t, "typed &lt;once&gt;", "Nothing was saved")

		// A target off the site keeps nothing and goes nowhere else: the
		// post is the form's own (a new confirmation).
		form.Set("_edit", "//evil.example/x")
		p = s.postFrom("/admin/accounts/C1/grants", "/admin/accounts/C1/grants", form)
		if strings.Contains(p.url, "evil") || s.hasCookie(surface.ResumeCookie) {
			t.Fatalf("a forged _edit led to %s (kept: %v)", p.url, s.hasCookie(surface.ResumeCookie))
		}

		// The portal: a customer admin changing a colleague's access.
		b := env.browse("adm80")
		g := env.grantsOf("user:u20")[0].ID
		change := url.Values{"grant": {g}, "role": {"L40"}, "access": {"read"}, "notes": {"ask first"}}
		p = b.postFrom("/a/C1/users/change?grant="+g, "/a/C1/users/change", change)
		p.must(t, http.StatusOK, `name="confirm" value="edit"`)
		change.Set("confirm", "edit")
		change.Set("_edit", "/a/C1/users/change?grant="+g)
		p = b.postFrom("/a/C1/users/change", "/a/C1/users/change", change)
		p.must(t, http.StatusOK, "Nothing was saved.", `value="ask first"`, `<option value="L40" selected="">`)
		if env.grantsOf("user:u20")[0].Role == "L40" || env.st.Revision() != rev {
			t.Fatal("Change saved the grant")
		}
	})
}
