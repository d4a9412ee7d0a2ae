package app

import (
	"context"
	"mime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Files of records (records.md §2). A type declares `files: true`; whoever
// can read a record reads its files (404 otherwise, like the record).
// Staff writers and their tokens put and delete them; external users only
// where the type declares `external_files: true` and they may update the
// record. The bytes live in the database, up to --max-file-size each.
// Every put and delete is audited (store.FilePutAction,
// store.FileDeleteAction).

// MaxFileName is the longest file name, in characters.
const MaxFileName = 200

// FileInfo is a file as one reader sees it (no bytes).
type FileInfo struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Type   string `json:"type"`
	SHA256 string `json:"sha256"`
	// CreatedBy is the uploader's user id, shown to staff, to the uploader
	// and to people of its home account; null for anyone else.
	CreatedBy *string `json:"created_by"`
	// CreatedByName is the uploader as the reader may see it (as comment
	// authors: a name, the supplier's name or AnotherCompany).
	CreatedByName string    `json:"created_by_name"`
	CreatedAt     time.Time `json:"created_at"`
}

// FileData is a file with its bytes.
type FileData struct {
	FileInfo
	Data []byte
}

// FilePut is a file to attach: Type and ID name the record, ContentType
// is the request's (empty: application/octet-stream).
type FilePut struct {
	Type, ID, Name, ContentType string
	Data                        []byte
}

// fileType resolves a type that has files (CodeNotFound otherwise).
func (a *App) fileType(name string) (*policy.Type, error) {
	t, err := a.recordType(name)
	if err != nil {
		return nil, err
	}
	if !t.Files {
		return nil, access.Errorf(access.CodeNotFound, "%s records have no files", t.Name)
	}
	return t, nil
}

// ValidFileName checks a file name: 1–200 characters of UTF-8, no "/",
// no control characters, not "." or "..". The error is CodeInvalid with
// Field "name".
func ValidFileName(name string) error {
	bad := func(why string) error {
		return access.FieldErrorf(access.CodeInvalid, "name", "file name %s", why)
	}
	switch n := utf8.RuneCountInString(name); {
	case name == "":
		return bad("is required")
	case !utf8.ValidString(name):
		return bad("must be UTF-8")
	case n > MaxFileName:
		return bad("is longer than 200 characters")
	case name == "." || name == "..":
		return bad(`may not be "." or ".."`)
	case strings.ContainsRune(name, '/'):
		return bad(`may not contain "/"`)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return bad("may not contain control characters")
	}
	return nil
}

// fileContentType normalizes a request's content type: empty is
// application/octet-stream, a value that does not parse is CodeInvalid.
func fileContentType(ct string) (string, error) {
	if strings.TrimSpace(ct) == "" {
		return "application/octet-stream", nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", access.FieldErrorf(access.CodeInvalid, "content_type", "the Content-Type %q is not a media type", ct)
	}
	return mime.FormatMediaType(mt, params), nil
}

// fileWriter is the rule for writing a record's files, in and out of the
// write transaction: staff writers; external users where the type has
// external_files and they may update the record.
func (a *App) fileWriter(c *Actor, t *policy.Type, rec *access.Record, src access.RecordMap) func() error {
	return func() error {
		if c.Internal() {
			return a.staffWriterStill(c)()
		}
		if !t.ExternalFiles || !a.eng.Allowed(c.ID(), rec, policy.Update, src) {
			return access.Errorf(access.CodeForbidden, "you may not change the files of this %s", t.Name)
		}
		return nil
	}
}

// fileRecord loads a record of a type with files that the subject can
// read (CodeNotFound otherwise), with its sharing parents.
func (a *App) fileRecord(ctx context.Context, subj access.User, typ, id string) (*policy.Type, *access.Record, access.RecordMap, error) {
	t, err := a.fileType(typ)
	if err != nil {
		return nil, nil, nil, err
	}
	rec, _, src, err := a.readable(ctx, subj, t.Name, id)
	return t, rec, src, err
}

// PutFile attaches a file to a record, replacing one of the same name; it
// reports whether it created it. Errors: CodeNotFound for a record the
// actor cannot read (or a type without files), CodeForbidden for one it
// may not change the files of, CodeInvalid for a bad name or content
// type, CodeTooLarge above MaxFileSize.
func (a *App) PutFile(ctx context.Context, c *Actor, in FilePut) (FileInfo, bool, int64, error) {
	t, rec, src, err := a.fileRecord(ctx, c.User, in.Type, in.ID)
	if err != nil {
		return FileInfo{}, false, 0, err
	}
	check := a.fileWriter(c, t, rec, src)
	if err := check(); err != nil {
		return FileInfo{}, false, 0, err
	}
	if err := ValidFileName(in.Name); err != nil {
		return FileInfo{}, false, 0, err
	}
	if int64(len(in.Data)) > a.talk.MaxFileSize {
		return FileInfo{}, false, 0, access.Errorf(access.CodeTooLarge, "the file is larger than %d bytes", a.talk.MaxFileSize)
	}
	ct, err := fileContentType(in.ContentType)
	if err != nil {
		return FileInfo{}, false, 0, err
	}
	ref := access.Ref{Type: t.Name, ID: rec.ID}
	created, rev, err := a.st.PutFile(ctx, write(c, check), store.File{Record: ref, Name: in.Name, ContentType: ct, Data: in.Data})
	if err != nil {
		return FileInfo{}, false, 0, err
	}
	f, err := a.st.GetFile(ctx, ref, in.Name)
	if err != nil {
		return FileInfo{}, false, 0, err
	}
	return a.fileOut(c.User, f), created, rev, nil
}

// ListFiles lists a record's files as the subject (the actor, or asUser
// for staff) sees them. CodeNotFound for a record it cannot read.
func (a *App) ListFiles(ctx context.Context, c *Actor, typ, id, asUser string) ([]FileInfo, error) {
	subj, err := a.subject(ctx, c, asUser)
	if err != nil {
		return nil, err
	}
	t, rec, _, err := a.fileRecord(ctx, subj, typ, id)
	if err != nil {
		return nil, err
	}
	fs, err := a.st.ListFiles(ctx, access.Ref{Type: t.Name, ID: rec.ID})
	if err != nil {
		return nil, err
	}
	out := make([]FileInfo, 0, len(fs))
	for _, f := range fs {
		out = append(out, a.fileOut(subj, f))
	}
	return out, nil
}

// GetFile returns one file with its bytes. CodeNotFound for a record the
// subject cannot read or a file that does not exist.
func (a *App) GetFile(ctx context.Context, c *Actor, typ, id, name, asUser string) (FileData, error) {
	subj, err := a.subject(ctx, c, asUser)
	if err != nil {
		return FileData{}, err
	}
	t, rec, _, err := a.fileRecord(ctx, subj, typ, id)
	if err != nil {
		return FileData{}, err
	}
	f, err := a.st.GetFile(ctx, access.Ref{Type: t.Name, ID: rec.ID}, name)
	if err != nil {
		return FileData{}, err
	}
	return FileData{FileInfo: a.fileOut(subj, f), Data: f.Data}, nil
}

// DeleteFile removes a file of a record, with PutFile's rules and errors;
// CodeNotFound when the file does not exist.
func (a *App) DeleteFile(ctx context.Context, c *Actor, typ, id, name string) (int64, error) {
	t, rec, src, err := a.fileRecord(ctx, c.User, typ, id)
	if err != nil {
		return 0, err
	}
	check := a.fileWriter(c, t, rec, src)
	if err := check(); err != nil {
		return 0, err
	}
	return a.st.DeleteFile(ctx, write(c, check), access.Ref{Type: t.Name, ID: rec.ID}, name)
}

// fileOut is a stored file as viewer sees it.
func (a *App) fileOut(viewer access.User, f store.File) FileInfo {
	kind := access.KindExternal
	u, known := a.eng.User(f.CreatedBy)
	if known {
		kind = u.Kind
	}
	out := FileInfo{Name: f.Name, Size: f.Size, Type: f.ContentType, SHA256: f.SHA256, CreatedAt: f.CreatedAt,
		CreatedByName: a.displayName(viewer, f.CreatedBy, kind)}
	if viewer.Kind == access.KindInternal || f.CreatedBy == viewer.ID ||
		(known && u.Kind == access.KindExternal && viewer.HomeAccount != "" && u.HomeAccount == viewer.HomeAccount) {
		by := f.CreatedBy
		out.CreatedBy = &by
	}
	return out
}

// InlineSafe reports whether a stored content type may be served as it
// is: every type but those a browser would run as a document (HTML,
// XHTML, SVG, XML), which are served as application/octet-stream. Files
// are always attachments with nosniff; this is one more fence.
func InlineSafe(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "text/xsl", "application/javascript", "text/javascript":
		return false
	}
	return true
}
