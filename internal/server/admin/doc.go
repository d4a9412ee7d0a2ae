// Package admin is the admin console (/admin), the staff's surface
// (DESIGN.md §3 "Admin console"). Its pages are rendered on the server
// (package render) and need no JavaScript. Every handler decodes the
// request (a form into app's typed inputs: app.AccountUpdate,
// app.UserUpdate, app.GroupUpdate, app.GrantUpdate), calls one use case
// of package app and renders the answer; what it shows beyond that
// (names, tree paths, the policy matrix) it reads from the engine's
// model (app.Engine) without deciding anything.
//
// Decisions the design leaves open:
//
//   - Roles: admins and access managers change access data; auditors see
//     every page but no write form is rendered for them, and every POST
//     they send is refused with 403 ("your staff role is read-only"):
//     Routes wraps every POST in that check before the handler runs, and
//     every page in the staff check, so external users get the 403 page
//     on every console page. Policy changes are for admins only.
//   - Every change goes through the same use cases as the JSON API (package
//     app: PutAccount, CreateGrant/UpdateGrant/DeleteGrant, PutUser,
//     SetPassword, PutGroup, AddMember, RemoveMember, PutPolicy), so the
//     engine's checks (CheckGrant, CheckUser), repeated inside the write
//     transaction, and the store's audit apply alike. The console's create
//     forms never replace what exists: they call app's CreateAccount,
//     CreateUser and CreateGroup, for which an existing id is a conflict.
//   - After a successful POST the console redirects (post/redirect/get)
//     with a ?done=<key> naming a fixed message, so reloading never posts
//     twice and no free text travels in the URL. A failed POST renders the
//     same page again with the error's status, the message in the layout's
//     aria-live region and next to the input the error's Field names
//     (render.FormError); a form with a single input shows every error
//     next to it.
//   - Pages load at most one page of anything (accounts, users, grants,
//     audit entries, records: 50 by default, cursor pagination); what is
//     derived (names, tree paths) comes from the engine's memory.
//   - Reads that are not changes stay GET, so auditors can use them: the
//     access checker, the audit log's "Verify chain", and the view-as
//     entry (which writes an audit entry, as an access log would).
//
// View as: the entry /admin/view-as picks an external user (search, or
// ?user=<id or email>), has app.ViewAs write one audit entry (action
// "portal.view_as", actor the staff user's id as in every data change,
// target "user:<id>", after {"account": ...}) and redirects to the
// read-only portal under /admin/view-as/<id>/a/<account>/, which the
// server mounts from the portal surface, with its banner. Pages viewed
// there are not logged one by one: the entry is the audited act.
package admin
