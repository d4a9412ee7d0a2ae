// Package portal is the customer portal: the sign-in page, the pages of
// the accounts an external user can act on (record lists and records, the
// "new record" and "edit record" forms, "Company users" for customer
// admins) and the profile page. Each handler decodes the request, calls one
// or a few use cases of package app as the signed-in user, and renders a
// template of package render; every decision (who may read, create,
// change, grant) is app's, so a form and the JSON API cannot disagree.
// Pages work without JavaScript.
//
// # View as
//
// Staff do not use the portal (its pages answer them 403) but may view it
// as an external user: the server mounts the routes marked ReadOnly again
// under /admin/view-as/{as}. There the pages show what that user would see
// (app's reads take the user as AsUser), under the URL prefix
// /admin/view-as/<as>, with the view-as banner and every form disabled; the
// server refuses every POST there, so no handler here writes under view
// as.
//
// # Record forms
//
// Decisions where DESIGN.md is silent:
//
//   - Inputs are exactly what the subject may write (records.md §1): the
//     type's writable_fields its role allows (app.CreateFields on a new
//     record, app.EditRecord on an edit), in the order of writable_fields;
//     a restricted one only with the role's fields grant. Everything else
//     of the record is shown as text below the form ("Other fields"); a
//     new record's form shows what the server sets instead (its number,
//     today's date, the type's defaults). Hidden fields never appear.
//   - A writable attribute the type declares gets the input of its type;
//     an undeclared one (a description, notes, a delivery address) is a
//     text area. Paths into objects ("a.b") are not offered.
//   - The type's owner_field is never an input: it is the account choice
//     of a new record (labelled with the field, e.g. "Site"), and only
//     staff change it later.
//   - The writable keys of an array's elements (lines[].sku, lines[].qty)
//     are a line editor: a table with a row per line. A "sku" key is
//     chosen, not typed, among the inventory the subject sees in the
//     current account's subtree: a search by SKU or description
//     (app.SearchRecords; also as GET ?q= on the new form) lists items
//     with Add buttons; qty and quantity keys take numbers above zero.
//     Without JavaScript every button (Search, Add, Remove) submits the
//     whole form with an "op" and the form comes back with the change; only
//     the submit button writes, and Enter in a field submits too. SKUs are
//     checked against the visible inventory again when the form is
//     written, so a forged SKU is refused with the editor's message.
//   - On an edit, a line keeps the keys the subject may see but not write
//     (a visible price), so sending it back is no write; the editor's
//     array is written only when the form carried the editor and it
//     changed.
//   - A string field with declared values, or constrained for the user, is
//     a <select> offering the declared values its constraints allow (for a
//     constrained field without declared values, e.g. a ticket's
//     responsible, exactly the constrained values). On an edit form a
//     stored value outside those choices stays selectable, marked
//     "current", so saving other changes never rewrites it (constraints
//     check only what a write changes, §5.12).
//   - Declared values are choices the form offers, not a validation rule
//     of their own: a forged value reaches the same checks as the API
//     (constraints, restricted fields) and nothing else.
//   - number, date and bool fields get number, date and yes/no inputs; an
//     empty input means "not set" (on edit: removes the attribute). An edit
//     is saved as a merge patch of the inputs that changed; only the form's
//     own inputs are read, so a forged input for a hidden field is never
//     written.
//   - The account a new record is created under is offered when the user
//     may create under several accounts of the current account's subtree
//     (read-only sites never appear).
//   - An error of the write is shown next to the input it names
//     (access.Error.Field: the attribute of a constraint violation or of a
//     refused restricted field); on a new record, a refusal that names no
//     input is shown at the account choice.
//
// # Company users
//
//   - The table lists every grant on the accounts of the current account's
//     subtree that the admin administers, 100 a page, with the principal's
//     name and email, the account, role, access, days back, validity, notes
//     and whether the grant is active now.
//   - Buttons are offered only where the engine would allow the change (a
//     dry run of the grant changed to itself, or removed: app decides), so
//     the page never offers what the POST would refuse. A protected role
//     (the Owner) is always shown locked, without buttons, even to another
//     Owner who might change its notes through the API. The admin's own
//     grants get no buttons either, so nobody locks themselves out with one
//     click.
//   - "Add a user" either picks a colleague (an external user homed in an
//     account of the current subtree the admin administers, not disabled,
//     not the admin itself) or invites a new one: an external user with
//     status invited, homed in the current account, with a server-assigned
//     id. Inviting creates the user and then its grant; when the grant is
//     refused, the just-created user is deleted again so no half-done
//     invitation stays. Invitation links and emails are a later feature
//     (DESIGN.md §6): an invited user cannot sign in until staff activate
//     it.
//   - The role select offers the assignable, unprotected roles whose level
//     is at most the admin's level on the current account: never the
//     Owner. A forged POST naming another role gets the engine's answer.
//   - Dates are UTC days, as in the console (render.GrantLimits).
//   - Revoking needs a confirmation page with a ticked box; the grant a
//     change or revoke names is a query parameter or form field, since
//     /users/{grant} would overlap {type}/new. The literal "users" wins over
//     {type}: a policy type named "users" would have no list page.
//
// # Profile
//
//   - /profile shows who is signed in and changes its password; it serves
//     portal users and staff alike (staff get the console's navigation).
//     View as has no profile.
//   - Changing the password needs the current one and the new one twice;
//     app.SetPassword checks the current one (a wrong one counts as a
//     failed sign-in for the throttle, so the form is no faster way to guess
//     a password than the sign-in page) and the password rules.
//   - The store ends every session of the user when the password changes;
//     the browser that changed it gets a fresh session at once, so only the
//     other sessions end.
package portal
