package render

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/i18n"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// Talk is the conversation and files section of a record page (the
// "record_talk" template of record_talk.html), for the portal and the
// console alike.
type Talk struct {
	// Comments is set when the type has comments; Files when it has files.
	Comments              []app.Comment
	Files                 []app.FileInfo
	HasComments, HasFiles bool
	// CanPost offers the comment form, Staff its "internal" checkbox;
	// CanUpload offers the upload form.
	CanPost, Staff, CanUpload bool
	// Base is the record page's URL: forms post to Base+"/comments" and
	// Base+"/files", downloads are Base+"/files/<name>".
	Base string
	// MaxFileSize is the upload limit, in bytes.
	MaxFileSize int64
}

// FormatSize renders a byte count for people: "512 B", "4.2 KiB",
// "25 MiB".
func FormatSize(n int64) string { return FormatSizeIn(access.LocaleDefault, n) }

// FormatSizeIn is FormatSize with locale's decimal separator.
func FormatSizeIn(locale string, n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, suffix := float64(n)/unit, "KiB"
	for _, s := range []string{"MiB", "GiB"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	if v == math.Trunc(v) {
		return i18n.Number(locale, v) + " " + suffix
	}
	return i18n.Decimal(locale, v, 1) + " " + suffix
}

// FileURL is the download link of a file of the record.
func (t *Talk) FileURL(name string) string { return t.Base + "/files/" + url.PathEscape(name) }

// LoadTalk reads the comments (the first page, oldest first) and files of
// a record that subject asUser ("" for the actor) can read, for a page
// at base. A type with neither gives nil.
func LoadTalk(ctx context.Context, a *app.App, c *app.Actor, t *policy.Type, id, asUser, base string) (*Talk, error) {
	if !t.Comments && !t.Files {
		return nil, nil
	}
	talk := &Talk{HasComments: t.Comments, HasFiles: t.Files, Base: base, MaxFileSize: a.MaxFileSize()}
	if t.Comments {
		page, err := a.ListComments(ctx, c, app.CommentList{Type: t.Name, ID: id, AsUser: asUser, ListParams: app.ListParams{Limit: 500}})
		if err != nil {
			return nil, err
		}
		talk.Comments = page.Items
	}
	if t.Files {
		files, err := a.ListFiles(ctx, c, t.Name, id, asUser)
		if err != nil {
			return nil, err
		}
		talk.Files = files
	}
	return talk, nil
}

// PutUploadedFile attaches the file of an upload form (UploadedFile) to
// the record named by the request's {type} and {id} (app.PutFile).
func PutUploadedFile(r *http.Request, a *app.App, c *app.Actor) error {
	in, err := UploadedFile(r, a.MaxFileSize())
	if err != nil {
		return err
	}
	in.Type, in.ID = r.PathValue("type"), r.PathValue("id")
	_, _, _, err = a.PutFile(r.Context(), c, in)
	return err
}

// UploadedFile reads the "file" part of a multipart upload form, at most
// limit bytes: its name, content type and bytes. No file chosen is
// CodeInvalid; a larger file is CodeTooLarge.
func UploadedFile(r *http.Request, limit int64) (app.FilePut, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return app.FilePut{}, access.FieldErrorf(access.CodeInvalid, "file", "choose a file to upload")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return app.FilePut{}, access.FieldErrorf(access.CodeInvalid, "file", "choose a file to upload")
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return app.FilePut{}, access.Errorf(access.CodeTooLarge, "the file is larger than %d bytes", limit)
		}
		if err != nil {
			return app.FilePut{}, access.Errorf(access.CodeInvalid, "the upload could not be read")
		}
		if part.FormName() != "file" || part.FileName() == "" {
			continue
		}
		data, err := surface.ReadFileBody(part, limit)
		if err != nil {
			return app.FilePut{}, err
		}
		return app.FilePut{Name: part.FileName(), ContentType: part.Header.Get("Content-Type"), Data: data}, nil
	}
}
