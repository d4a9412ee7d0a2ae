package portal

import "github.com/portcullis-dev/portcullis/internal/app"

// inviteOf is the invitation of the add form: a new user homed in home
// with the form's grant on account.
func inviteOf(email, name, home, account string, g app.GrantUpdate) app.InvitationRequest {
	ig := app.InvitationGrant{Account: account, Role: g.Role.Value, Access: g.Access.Value}
	if g.DaysBack.Set && !g.DaysBack.Null {
		d := g.DaysBack.Value
		ig.DaysBack = &d
	}
	if g.ValidUntil.Set && !g.ValidUntil.Null {
		t := g.ValidUntil.Value
		ig.ValidUntil = &t
	}
	return app.InvitationRequest{Email: email, Name: name, HomeAccount: home, Grants: []app.InvitationGrant{ig}}
}
