package app

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/mail"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The conversation of records (records.md §2). A type declares
// `comments: true`; whoever can read a record reads its comments except
// internal ones, which only staff post and read; whoever may update the
// record posts. An external reader never learns who of another company
// wrote a comment: authors are shown by name only when they are staff
// (as the supplier, ConversationConfig.SupplierName) or share the
// reader's home account, else as AnotherCompany, and never by id or
// email. Comments are immutable and not audited (a record's data, like
// record writes); a new one is mailed through the outbox to the record's
// creator and the earlier commenters who can read it then.

// ConversationConfig configures comments and files.
type ConversationConfig struct {
	// SupplierName is how external readers see staff authors
	// (--supplier-name, e.g. "Northwind support"); default "Support".
	SupplierName string
	// MaxFileSize caps a file's bytes (--max-file-size); default
	// DefaultMaxFileSize.
	MaxFileSize int64
}

// DefaultMaxFileSize is the default --max-file-size: 25 MiB.
const DefaultMaxFileSize = 25 << 20

// DefaultSupplierName is how staff authors appear to external readers
// when no --supplier-name is given.
const DefaultSupplierName = "Support"

// AnotherCompany is how an external reader sees the author of a comment
// (or a file) from outside its own company.
const AnotherCompany = "another company"

// AColleague is how an external reader sees a person of its own company
// who has no name.
const AColleague = "a colleague"

// MaxCommentBody is the largest comment body: 16 KiB of UTF-8.
const MaxCommentBody = 16 << 10

func (c ConversationConfig) withDefaults() ConversationConfig {
	if strings.TrimSpace(c.SupplierName) == "" {
		c.SupplierName = DefaultSupplierName
	}
	if c.MaxFileSize <= 0 {
		c.MaxFileSize = DefaultMaxFileSize
	}
	return c
}

// MaxFileSize is the largest file PutFile takes, for surfaces that size
// their request body limits by it.
func (a *App) MaxFileSize() int64 { return a.talk.MaxFileSize }

// Comment is a comment as one reader sees it.
type Comment struct {
	ID     string     `json:"id"`
	Record access.Ref `json:"record"`
	Body   string     `json:"body"`
	// Internal comments are shown to staff only.
	Internal bool `json:"internal"`
	// AuthorName is the author as the reader may see it: a name, the
	// supplier's name, or AnotherCompany.
	AuthorName string `json:"author_name"`
	// Author is the author's user id, for staff readers only.
	Author string `json:"author,omitempty"`
	// Mine marks the reader's own comments.
	Mine      bool      `json:"mine"`
	CreatedAt time.Time `json:"created_at"`
}

// CommentPost is a new comment: Body is plain text, 1–16 KiB once
// trimmed; Internal (staff only) hides it from external users.
type CommentPost struct {
	Body     string `json:"body"`
	Internal bool   `json:"internal"`
}

// conversationType resolves a type that has comments: CodeNotFound for
// an unknown type or one without a conversation.
func (a *App) conversationType(name string) (*policy.Type, error) {
	t, err := a.recordType(name)
	if err != nil {
		return nil, err
	}
	if !t.Comments {
		return nil, access.Errorf(access.CodeNotFound, "%s records have no comments", t.Name)
	}
	return t, nil
}

// displayName is how viewer sees user id (of kind kind) as an author:
// staff see everyone's name; an external viewer sees staff as the
// supplier, itself and people of its own home account by name, and
// anyone else as AnotherCompany.
func (a *App) displayName(viewer access.User, id, kind string) string {
	u, known := a.eng.User(id)
	name := u.Name
	if strings.TrimSpace(name) == "" {
		name = u.Email
	}
	switch {
	case viewer.Kind == access.KindInternal && known:
		return name
	case viewer.Kind == access.KindInternal:
		return id
	case kind == access.KindInternal:
		return a.talk.SupplierName
	case id == viewer.ID, known && viewer.HomeAccount != "" && u.HomeAccount == viewer.HomeAccount:
		if strings.TrimSpace(u.Name) == "" {
			return AColleague // never the email of a nameless user
		}
		return u.Name
	}
	return AnotherCompany
}

// PersonName is how the subject (the actor, or asUser for staff) sees the
// person with user id id, as a record's creator: displayName's rules (its
// own company by name, staff as the supplier, anyone else as
// AnotherCompany). Errors are those of as_user.
func (a *App) PersonName(c *Actor, asUser, id string) (string, error) {
	viewer, err := a.lookupSubject(c, asUser)
	if err != nil {
		return "", err
	}
	kind := access.KindExternal
	if u, ok := a.eng.User(id); ok {
		kind = u.Kind
	}
	return a.displayName(viewer, id, kind), nil
}

// commentOut is a stored comment as viewer sees it.
func (a *App) commentOut(viewer access.User, cm store.Comment) Comment {
	out := Comment{ID: cm.ID, Record: cm.Record, Body: cm.Body, Internal: cm.Internal, Mine: cm.Author == viewer.ID,
		CreatedAt: cm.CreatedAt, AuthorName: a.displayName(viewer, cm.Author, cm.AuthorKind)}
	if viewer.Kind == access.KindInternal {
		out.Author = cm.Author
	}
	return out
}

// CommentList selects one record's comments, oldest first; AsUser (staff
// and tokens) reads as that user.
type CommentList struct {
	Type, ID, AsUser string
	ListParams
}

// ListComments lists a record's conversation as the subject sees it:
// internal comments only for staff. Errors: CodeNotFound for a record the
// subject cannot read or a type without comments, CodeForbidden for
// as_user by an external user.
func (a *App) ListComments(ctx context.Context, c *Actor, in CommentList) (Page[Comment], error) {
	t, err := a.conversationType(in.Type)
	if err != nil {
		return Page[Comment]{}, err
	}
	subj, err := a.subject(ctx, c, in.AsUser)
	if err != nil {
		return Page[Comment]{}, err
	}
	if _, _, _, err := a.readable(ctx, subj, t.Name, in.ID); err != nil {
		return Page[Comment]{}, err
	}
	ref := access.Ref{Type: t.Name, ID: in.ID}
	cms, next, err := a.st.ListComments(ctx, store.CommentFilter{Record: &ref, External: subj.Kind != access.KindInternal,
		Limit: in.limit(), Cursor: in.Cursor})
	if err != nil {
		return Page[Comment]{}, err
	}
	out := Page[Comment]{Items: make([]Comment, 0, len(cms)), Next: next}
	for _, cm := range cms {
		out.Items = append(out.Items, a.commentOut(subj, cm))
	}
	return out, nil
}

// CommentFeed selects the comments of every record created at or after
// UpdatedSince (RFC 3339; empty: all), oldest first.
type CommentFeed struct {
	UpdatedSince string
	ListParams
}

// ListCommentFeed is the staff feed of new comments on every record, so
// an ERP or help desk pulls what customers wrote. Staff and their tokens
// only (CodeForbidden otherwise); CodeInvalid for a bad updated_since.
func (a *App) ListCommentFeed(ctx context.Context, c *Actor, in CommentFeed) (Page[Comment], error) {
	if err := requireStaff(c); err != nil {
		return Page[Comment]{}, err
	}
	f := store.CommentFilter{Limit: in.limit(), Cursor: in.Cursor}
	if in.UpdatedSince != "" {
		ts, err := time.Parse(time.RFC3339Nano, in.UpdatedSince)
		if err != nil {
			return Page[Comment]{}, access.FieldErrorf(access.CodeInvalid, "updated_since", "updated_since must be an RFC 3339 time")
		}
		f.Since = &ts
	}
	cms, next, err := a.st.ListComments(ctx, f)
	if err != nil {
		return Page[Comment]{}, err
	}
	out := Page[Comment]{Items: make([]Comment, 0, len(cms)), Next: next}
	for _, cm := range cms {
		out.Items = append(out.Items, a.commentOut(c.User, cm))
	}
	return out, nil
}

// validCommentBody trims a comment body and checks it: plain text (valid
// UTF-8, no control characters but line breaks and tabs), 1–16 KiB.
func validCommentBody(body string) (string, error) {
	body = strings.TrimSpace(body)
	switch {
	case body == "":
		return "", access.FieldErrorf(access.CodeInvalid, "body", "body is required")
	case len(body) > MaxCommentBody:
		return "", access.FieldErrorf(access.CodeInvalid, "body", "body is %d bytes, at most %d allowed", len(body), MaxCommentBody)
	case !utf8.ValidString(body):
		return "", access.FieldErrorf(access.CodeInvalid, "body", "body must be UTF-8 text")
	}
	for _, r := range body {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return "", access.FieldErrorf(access.CodeInvalid, "body", "body must be plain text without control characters")
		}
	}
	return body, nil
}

// PostComment adds a comment to a record the actor may update, and mails
// the record's creator and earlier commenters who can read the comment,
// except its author, in the same transaction. Errors: CodeNotFound for a
// record the actor cannot read (or a type without comments),
// CodeForbidden when it may only read it or an external user asks for
// internal, CodeInvalid for a bad body; the decision is taken again
// inside the write transaction.
func (a *App) PostComment(ctx context.Context, c *Actor, typ, id string, in CommentPost) (Comment, int64, error) {
	t, err := a.conversationType(typ)
	if err != nil {
		return Comment{}, 0, err
	}
	rec, _, src, err := a.readable(ctx, c.User, t.Name, id)
	if err != nil {
		return Comment{}, 0, err
	}
	check := func() error {
		if !a.eng.Allowed(c.ID(), rec, policy.Update, src) {
			return access.Errorf(access.CodeForbidden, "you may not comment on this %s", t.Name)
		}
		if in.Internal && !c.Internal() {
			return access.FieldErrorf(access.CodeForbidden, "internal", "only staff post internal comments")
		}
		return nil
	}
	if err := check(); err != nil {
		return Comment{}, 0, err
	}
	body, err := validCommentBody(in.Body)
	if err != nil {
		return Comment{}, 0, err
	}
	cm := store.Comment{Record: access.Ref{Type: t.Name, ID: id}, Author: c.ID(), AuthorKind: c.User.Kind, Body: body, Internal: in.Internal}
	w := write(c, check)
	if w.Mail, err = a.commentMail(ctx, t, rec, src, cm); err != nil {
		return Comment{}, 0, err
	}
	stored, rev, err := a.st.CreateComment(ctx, w, cm)
	if err != nil {
		return Comment{}, 0, err
	}
	if len(w.Mail) > 0 {
		a.sent()
	}
	return a.commentOut(c.User, stored), rev, nil
}

// commentMail builds the messages of a new comment: to the record's
// creator and every earlier commenter, once each, but not its author,
// and only to active users with an email who can read the record now
// (and, for an internal comment, are staff). Each message shows the
// author and the record as its recipient may see them.
func (a *App) commentMail(ctx context.Context, t *policy.Type, rec *access.Record, src access.RecordMap, cm store.Comment) ([]store.Message, error) {
	candidates := []string{rec.Creator}
	ref := cm.Record
	for cursor := ""; ; {
		page, next, err := a.st.ListComments(ctx, store.CommentFilter{Record: &ref, Limit: store.MaxListLimit, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, old := range page {
			candidates = append(candidates, old.Author)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	seen := map[string]bool{cm.Author: true, "": true}
	var msgs []store.Message
	for _, uid := range candidates {
		if seen[uid] {
			continue
		}
		seen[uid] = true
		u, ok := a.eng.User(uid)
		if !ok || u.Status != access.StatusActive || u.Email == "" || (cm.Internal && u.Kind != access.KindInternal) {
			continue
		}
		if !a.eng.Allowed(u.ID, rec, policy.Read, src) {
			continue
		}
		locale := a.localeOf(ctx, u.ID)
		content := mail.NewComment(locale, mail.CommentData{Name: u.Name, Author: a.displayName(u, cm.Author, cm.AuthorKind),
			Record: a.recordLabel(t, u, rec, src), Body: cm.Body, Link: a.recordLink(u, rec)})
		msgs = append(msgs, a.message("comment", u.Email, u.ID, locale, content, ""))
	}
	return msgs, nil
}

// recordLabel names a record in a message to u: "<type title> <id>",
// with its title or subject attribute when u may see it.
func (a *App) recordLabel(t *policy.Type, u access.User, rec *access.Record, src access.RecordMap) string {
	title := t.Title
	if title == "" {
		title = t.Name
	}
	label := title + " " + rec.ID
	v := rec
	if u.Kind != access.KindInternal {
		var ok bool
		if v, ok = a.eng.View(u.ID, rec, src); !ok {
			return label
		}
	}
	for _, k := range []string{"title", "subject"} {
		if s, ok := v.Attributes[k].(string); ok && strings.TrimSpace(s) != "" {
			return label + ": " + strings.TrimSpace(s)
		}
	}
	return label
}

// recordLink is the page of a record for u: the console's for staff, the
// portal's (which finds the account to show it under) for everyone else.
func (a *App) recordLink(u access.User, rec *access.Record) string {
	p := "/r/" + url.PathEscape(rec.Type) + "/" + url.PathEscape(rec.ID)
	if u.Kind == access.KindInternal {
		p = "/admin/records/" + url.PathEscape(rec.Type) + "/" + url.PathEscape(rec.ID)
	}
	return a.link(p)
}
