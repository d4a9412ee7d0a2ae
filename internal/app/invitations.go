package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/mail"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Invitations (identity.md §2): staff writers, or a customer admin under
// the delegation rules (access.Engine.CheckInvitation) for the home account
// and every grant, invite a new user: one transaction creates the user
// (status invited, no password), its grants (inactive while it is invited)
// and the message with the link <public-url>/invite/<token>. The token is
// 32 random bytes, stored hashed, single use and expiring. Accepting it
// makes the user active with a password and starts a session.

// Invitation lifetimes.
const (
	DefaultInvitationTTL = 168 * time.Hour
	MaxInvitationTTL     = 720 * time.Hour
	// MaxInvitationBatch is the most invitations one batch takes.
	MaxInvitationBatch = 1000
)

// InvitationPrefix starts every invitation token.
const InvitationPrefix = "pci_"

// neutralInviteMessage is what a customer admin learns about an address in
// use outside its reach: nothing (identity.md §2).
const neutralInviteMessage = "this address cannot be invited here"

// InvitationRequest is one invitation (POST /api/v1/invitations).
type InvitationRequest struct {
	Email       string            `json:"email"`
	Name        string            `json:"name"`
	HomeAccount string            `json:"home_account"`
	Locale      string            `json:"locale"`
	Grants      []InvitationGrant `json:"grants"`
	// ExpiresIn is a Go duration ("168h"), at most 720h; "" means 168h.
	ExpiresIn string `json:"expires_in"`
}

// InvitationGrant is a grant the invited user gets.
type InvitationGrant struct {
	Account    string     `json:"account"`
	Role       string     `json:"role"`
	Scope      string     `json:"scope"`
	Access     string     `json:"access"`
	DaysBack   *int       `json:"days_back"`
	ValidUntil *time.Time `json:"valid_until"`
}

// invitation is a request made ready to store: the user, grants, the
// token and the message.
type invitation struct {
	nu     store.NewInvitation
	secret string
}

// inviter checks who may invite: staff writers (nil managed) or a customer
// admin (the accounts it administers).
func (a *App) inviter(c *Actor) ([]string, error) {
	if c.Internal() {
		if err := requireStaffWriter(c); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return a.userAdmin(c)
}

// prepare validates one request and checks it with the engine.
func (a *App) prepare(ctx context.Context, c *Actor, managed []string, in InvitationRequest, now time.Time) (invitation, error) {
	pol := a.eng.Policy()
	ttl := DefaultInvitationTTL
	if in.ExpiresIn != "" {
		d, err := time.ParseDuration(in.ExpiresIn)
		if err != nil || d <= 0 || d > MaxInvitationTTL {
			return invitation{}, access.FieldErrorf(access.CodeInvalid, "expires_in", "expires_in must be a duration up to 720h, like 168h")
		}
		ttl = d
	}
	if in.Locale != "" && mail.Locale(in.Locale) != strings.ToLower(in.Locale) {
		return invitation{}, access.FieldErrorf(access.CodeInvalid, "locale", "locale must be en, de or zh")
	}
	email := strings.TrimSpace(in.Email)
	if email == "" {
		return invitation{}, access.FieldErrorf(access.CodeInvalid, "email", "email is required")
	}
	if in.HomeAccount == "" {
		return invitation{}, access.FieldErrorf(access.CodeInvalid, "home_account", "home_account is required")
	}
	u := access.User{ID: newInvitedUserID(), Kind: access.KindExternal, Name: strings.TrimSpace(in.Name), Email: email,
		HomeAccount: in.HomeAccount, Status: access.StatusInvited, Locale: mail.Locale(in.Locale)}
	if err := u.Validate(pol); err != nil {
		return invitation{}, err
	}
	if _, ok := a.eng.Account(u.HomeAccount); !ok {
		if managed != nil {
			return invitation{}, access.FieldErrorf(access.CodeForbidden, "home_account", "home account %s is outside your reach", u.HomeAccount)
		}
		return invitation{}, access.FieldErrorf(access.CodeInvalid, "home_account", "home account %s does not exist", u.HomeAccount)
	}
	var grants []access.Grant
	for i, ig := range in.Grants {
		g := access.Grant{Principal: "user:" + u.ID, Account: ig.Account, Role: ig.Role, Scope: ig.Scope, Access: ig.Access,
			DaysBack: ig.DaysBack, ValidUntil: ig.ValidUntil}
		if g.ValidUntil != nil {
			t := g.ValidUntil.UTC()
			g.ValidUntil = &t
		}
		if err := g.Validate(pol); err != nil {
			return invitation{}, prefixField(err, fmt.Sprintf("grants[%d].", i))
		}
		if _, ok := a.eng.Account(g.Account); !ok {
			return invitation{}, access.FieldErrorf(access.CodeInvalid, fmt.Sprintf("grants[%d].account", i), "account %s does not exist", g.Account)
		}
		grants = append(grants, g)
	}
	if err := a.checkInvitation(c, &u, grants); err != nil {
		return invitation{}, err
	}
	if err := a.emailFree(ctx, managed, email); err != nil {
		return invitation{}, err
	}
	secret, hash := auth.NewSecret(InvitationPrefix)
	locale := mail.Locale(in.Locale)
	return invitation{secret: secret, nu: store.NewInvitation{User: u, Grants: grants, Locale: locale, TokenHash: hash,
		ExpiresAt: now.Add(ttl)}}, nil
}

// checkInvitation is the engine's rule for the actor (system actors: the
// protected-role rules alone).
func (a *App) checkInvitation(c *Actor, u *access.User, gs []access.Grant) error {
	if c.System {
		for i := range gs {
			if err := a.eng.CheckProtected(nil, &gs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return a.eng.CheckInvitation(c.ID(), u, gs)
}

// emailFree answers CodeConflict when email is in use: with ExistingID
// for staff and for a customer admin that reaches the user, else with the
// neutral message.
func (a *App) emailFree(ctx context.Context, managed []string, email string) error {
	u, err := a.st.GetUserByEmail(ctx, email)
	if access.ErrorCode(err) == access.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	return a.emailConflict(managed, u.ID, u.HomeAccount)
}

func (a *App) emailConflict(managed []string, id, home string) error {
	if managed != nil && !contains(managed, home) {
		return &access.Error{Code: access.CodeConflict, Field: "email", Message: neutralInviteMessage}
	}
	return &access.Error{Code: access.CodeConflict, Field: "email", ExistingID: id, Message: "this address is already in use"}
}

// prefixField puts a prefix before an error's Field (grants[0].role).
func prefixField(err error, prefix string) error {
	if e, ok := err.(*access.Error); ok && e.Field != "" {
		cp := *e
		cp.Field = prefix + e.Field
		return &cp
	}
	return err
}

// Invite creates one invitation and queues its message; see the section
// comment. Errors: CodeForbidden (not a staff writer or customer admin, or
// outside its reach), CodeInvalid (a bad field, Field set), CodeConflict
// (the email is in use: ExistingID for staff and within a customer admin's
// reach, else the neutral message).
func (a *App) Invite(ctx context.Context, c *Actor, in InvitationRequest) (store.Invitation, int64, error) {
	invs, rev, err := a.invite(ctx, c, []InvitationRequest{in})
	if err != nil {
		return store.Invitation{}, 0, err
	}
	return invs[0], rev, nil
}

// InviteBatch creates up to MaxInvitationBatch invitations, all or
// nothing: any bad item fails the batch with CodeInvalid and Items naming
// each bad index (as records:batch). Authorization as Invite.
func (a *App) InviteBatch(ctx context.Context, c *Actor, in []InvitationRequest) ([]store.Invitation, int64, error) {
	if len(in) == 0 {
		return nil, 0, access.FieldErrorf(access.CodeInvalid, "invitations", "invitations must hold at least one invitation")
	}
	if len(in) > MaxInvitationBatch {
		return nil, 0, access.Errorf(access.CodeTooLarge, "a batch holds at most %d invitations, not %d", MaxInvitationBatch, len(in))
	}
	return a.invite(ctx, c, in)
}

func (a *App) invite(ctx context.Context, c *Actor, reqs []InvitationRequest) ([]store.Invitation, int64, error) {
	managed, err := a.inviter(c)
	if err != nil {
		return nil, 0, err
	}
	now := a.Now()
	var prepared []invitation
	var items []access.ItemError
	seen := map[string]int{}
	for i, in := range reqs {
		p, err := a.prepare(ctx, c, managed, in, now)
		if err == nil {
			key := normalizeEmail(in.Email)
			if j, dup := seen[key]; dup {
				err = access.FieldErrorf(access.CodeInvalid, "email", "the same email as invitation %d", j)
			}
			seen[key] = i
		}
		if err != nil {
			if len(reqs) == 1 {
				return nil, 0, err
			}
			e := surface(err)
			if e == nil {
				return nil, 0, err
			}
			items = append(items, access.ItemError{Index: i, Message: e.Message})
			continue
		}
		prepared = append(prepared, p)
	}
	if len(items) > 0 {
		return nil, 0, &access.Error{Code: access.CodeInvalid, Items: items,
			Message: fmt.Sprintf("%d of %d invitations are invalid", len(items), len(reqs))}
	}
	nus := make([]store.NewInvitation, len(prepared))
	var msgs []store.Message
	for i, p := range prepared {
		nus[i] = p.nu
		msgs = append(msgs, a.invitationMessage(c, p.nu.User, p.nu.Locale, p.nu.ExpiresAt, p.secret))
	}
	check := func() error {
		if !c.Internal() && len(a.ManagedAccounts(c)) == 0 {
			return access.Errorf(access.CodeForbidden, "you may not manage users")
		}
		if c.Internal() {
			if err := a.staffWriterStill(c)(); err != nil {
				return err
			}
		}
		for i := range nus {
			if err := a.checkInvitation(c, &nus[i].User, nus[i].Grants); err != nil {
				return err
			}
		}
		return nil
	}
	w := write(c, check)
	w.Mail = msgs
	invs, rev, err := a.st.CreateInvitations(ctx, w, nus)
	if err != nil {
		if e, ok := err.(*access.Error); ok && e.Code == access.CodeConflict && e.Field == "email" && len(nus) == 1 {
			// Created meanwhile: the same answer as the check before.
			if u, gerr := a.st.GetUserByEmail(ctx, nus[0].User.Email); gerr == nil {
				return nil, 0, a.emailConflict(managed, u.ID, u.HomeAccount)
			}
			return nil, 0, &access.Error{Code: access.CodeConflict, Field: "email", Message: neutralInviteMessage}
		}
		if e, ok := err.(*access.Error); ok && len(e.Items) > 0 && managed != nil {
			for i := range e.Items {
				e.Items[i].Message = neutralInviteMessage
			}
		}
		return nil, 0, err
	}
	a.sent()
	return invs, rev, nil
}

// surface returns err's domain error, or nil for an internal one.
func surface(err error) *access.Error {
	if e, ok := err.(*access.Error); ok && e.Code != access.CodeInternal {
		return e
	}
	return nil
}

// invitationMessage renders the invitation of u.
func (a *App) invitationMessage(c *Actor, u access.User, locale string, expires time.Time, secret string) store.Message {
	inviter := c.User.Name
	if inviter == "" || c.System {
		inviter = "Your supplier"
	}
	company := u.HomeAccount
	if acct, ok := a.eng.Account(u.HomeAccount); ok && acct.Name != "" {
		company = acct.Name
	}
	content := mail.Invitation(locale, mail.InvitationData{Name: u.Name, Inviter: inviter, Company: company,
		Link: store.SecretMarker, Expires: expires})
	return a.message("invitation", u.Email, u.ID, locale, content, a.link("/invite/"+secret))
}

// InvitationFilter selects invitations: the home account and the status
// (pending, accepted, expired, revoked).
type InvitationFilter struct {
	Account, Status, User string
	ListParams
}

// ListInvitations lists invitations in id order: every one for staff,
// those of users homed within its reach for a customer admin. Errors:
// CodeForbidden (other external users), CodeInvalid (an unknown status).
func (a *App) ListInvitations(ctx context.Context, c *Actor, f InvitationFilter) (Page[store.Invitation], error) {
	managed, err := a.userAdmin(c)
	if err != nil {
		return Page[store.Invitation]{}, err
	}
	switch f.Status {
	case "", store.InvitationPending, store.InvitationAccepted, store.InvitationExpired, store.InvitationRevoked:
	default:
		return Page[store.Invitation]{}, access.FieldErrorf(access.CodeInvalid, "status", "status must be pending, accepted, expired or revoked")
	}
	items, next, err := a.st.ListInvitations(ctx, store.InvitationFilter{HomeAccounts: managed, Account: f.Account, UserID: f.User,
		Status: f.Status, Now: a.Now(), Limit: f.limit(), Cursor: f.Cursor})
	return Page[store.Invitation]{Items: items, Next: next}, err
}

// visibleInvitation loads an invitation the actor may change: staff
// writers any, a customer admin those of users homed within its reach
// that CheckUser lets it administer (others are CodeNotFound).
func (a *App) visibleInvitation(ctx context.Context, c *Actor, id string) (store.Invitation, func() error, error) {
	managed, err := a.inviter(c)
	if err != nil {
		return store.Invitation{}, nil, err
	}
	inv, err := a.st.GetInvitation(ctx, id)
	if err != nil {
		return inv, nil, err
	}
	if managed != nil && !contains(managed, inv.HomeAccount) {
		return store.Invitation{}, nil, access.Errorf(access.CodeNotFound, "invitation %s not found", id)
	}
	check := func() error {
		if c.Internal() {
			return a.staffWriterStill(c)()
		}
		u, ok := a.eng.User(inv.UserID)
		if !ok {
			return access.Errorf(access.CodeNotFound, "invitation %s not found", id)
		}
		return a.checkUser(c, &u, &u)
	}
	if err := check(); err != nil {
		return inv, nil, err
	}
	return inv, check, nil
}

// ResendInvitation gives a pending or expired invitation a new token and
// a new expiry (DefaultInvitationTTL from now; the old link dies) and
// queues a new message. Errors: CodeNotFound (unknown or outside a
// customer admin's reach), CodeConflict (accepted or revoked),
// CodeForbidden.
func (a *App) ResendInvitation(ctx context.Context, c *Actor, id string) (store.Invitation, int64, error) {
	inv, check, err := a.visibleInvitation(ctx, c, id)
	if err != nil {
		return inv, 0, err
	}
	if inv.Status == store.InvitationAccepted || inv.Status == store.InvitationRevoked {
		return inv, 0, access.Errorf(access.CodeConflict, "invitation %s is %s", id, inv.Status)
	}
	u, err := a.st.GetUser(ctx, inv.UserID)
	if err != nil {
		return inv, 0, err
	}
	secret, hash := auth.NewSecret(InvitationPrefix)
	expires := a.Now().Add(DefaultInvitationTTL)
	w := write(c, check)
	w.Mail = []store.Message{a.invitationMessage(c, u, inv.Locale, expires, secret)}
	inv, rev, err := a.st.RenewInvitation(ctx, w, id, hash, expires)
	if err != nil {
		return inv, 0, err
	}
	inv.Status = store.InvitationPending
	a.sent()
	return inv, rev, nil
}

// RevokeInvitation ends a pending or expired invitation; the user stays
// invited. Errors as ResendInvitation.
func (a *App) RevokeInvitation(ctx context.Context, c *Actor, id string) (int64, error) {
	_, check, err := a.visibleInvitation(ctx, c, id)
	if err != nil {
		return 0, err
	}
	return a.st.RevokeInvitation(ctx, write(c, check), id)
}

// errLinkGone is the one answer for an expired, used, revoked or unknown
// link: it reveals nothing about the user.
var errLinkGone = access.Errorf(access.CodeNotFound, "this link has expired or was already used")

// InvitationInfo is what the accept page shows.
type InvitationInfo struct {
	Email, Name string
}

// InvitationByToken returns what the accept page of a token shows, or
// CodeNotFound (errLinkGone) when the link is expired, used or revoked.
func (a *App) InvitationByToken(ctx context.Context, token string) (InvitationInfo, error) {
	if !strings.HasPrefix(token, InvitationPrefix) {
		return InvitationInfo{}, errLinkGone
	}
	inv, err := a.st.InvitationByToken(ctx, auth.HashSecret(token))
	if err != nil || inv.Status != store.InvitationPending {
		return InvitationInfo{}, errLinkGone
	}
	return InvitationInfo{Email: inv.Email, Name: inv.Name}, nil
}

// AcceptInvitation is POST /api/v1/invitations/accept and the accept page.
type AcceptInvitation struct {
	Token    string `json:"token"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

// AcceptInvitation accepts an invitation: the user becomes active with the
// password (hashed through the app's hashing gate) and, when given, the
// name; audited as invitation.accepted. It returns the user, for the
// caller to start its session. Errors: CodeNotFound (errLinkGone),
// CodeInvalid (a weak password, Field password; a bad name, Field name).
func (a *App) AcceptInvitation(ctx context.Context, in AcceptInvitation) (access.User, error) {
	if err := checkLength("password", in.Password); err != nil {
		return access.User{}, err
	}
	info, err := a.InvitationByToken(ctx, in.Token)
	if err != nil {
		return access.User{}, err
	}
	name := strings.TrimSpace(in.Name)
	if len(name) > 200 {
		return access.User{}, access.FieldErrorf(access.CodeInvalid, "name", "name must be at most 200 characters")
	}
	who := access.User{Email: info.Email, Name: name}
	if who.Name == "" {
		who.Name = info.Name
	}
	if err := a.localPasswordsRefused(ctx, info.Email); err != nil {
		return access.User{}, err
	}
	if err := validatePassword(who, in.Password); err != nil {
		return access.User{}, err
	}
	hash, err := a.hash(ctx, in.Password)
	if err != nil {
		return access.User{}, err
	}
	inv, err := a.st.InvitationByToken(ctx, auth.HashSecret(in.Token))
	if err != nil {
		return access.User{}, errLinkGone
	}
	inv, _, err = a.st.AcceptInvitation(ctx, store.Write{Actor: "user:" + inv.UserID, By: inv.UserID}, auth.HashSecret(in.Token), name, hash, a.Now())
	if access.ErrorCode(err) == access.CodeNotFound {
		return access.User{}, errLinkGone
	}
	if err != nil {
		return access.User{}, err
	}
	u, ok := a.eng.User(inv.UserID)
	if !ok {
		return access.User{}, errLinkGone
	}
	return u, nil
}

// newInvitedUserID is the id of an invited user: "x" and random base32,
// like record ids.
func newInvitedUserID() string { return "x" + strings.TrimPrefix(NewRecordID(), "r") }

// PreviewInvitations checks invitations as InviteBatch would, without
// writing or sending anything: the problems per item (none when the batch
// would go through). Authorization errors of the caller are returned.
func (a *App) PreviewInvitations(ctx context.Context, c *Actor, reqs []InvitationRequest) ([]access.ItemError, error) {
	managed, err := a.inviter(c)
	if err != nil {
		return nil, err
	}
	if len(reqs) > MaxInvitationBatch {
		return nil, access.Errorf(access.CodeTooLarge, "a batch holds at most %d invitations, not %d", MaxInvitationBatch, len(reqs))
	}
	now := a.Now()
	seen := map[string]int{}
	var items []access.ItemError
	for i, in := range reqs {
		_, err := a.prepare(ctx, c, managed, in, now)
		if err == nil {
			key := normalizeEmail(in.Email)
			if j, dup := seen[key]; dup {
				err = access.FieldErrorf(access.CodeInvalid, "email", "the same email as line %d", j+1)
			}
			seen[key] = i
		}
		if err != nil {
			e := surface(err)
			if e == nil {
				return nil, err
			}
			items = append(items, access.ItemError{Index: i, Message: e.Message})
		}
	}
	return items, nil
}
