package store

import (
	"context"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// Comment is one comment of a record's conversation (records.md §2).
// Comments are immutable once posted.
type Comment struct {
	ID     string
	Record access.Ref
	// Author is the posting user's id and AuthorKind its kind then
	// (access.KindInternal or access.KindExternal).
	Author     string
	AuthorKind string
	Body       string
	// Internal comments are for staff only.
	Internal  bool
	CreatedAt time.Time
}

// CommentFilter selects comments, oldest first (created_at, then id).
// Record, when set, restricts to one record's conversation, else every
// record's (the staff feed); Since keeps comments created at or after it;
// External leaves out internal comments (an external reader's view), in
// the query, so pages stay full.
type CommentFilter struct {
	Record   *access.Ref
	Since    *time.Time
	External bool
	Limit    int
	Cursor   string
}

// File is a file attached to a record. Data is nil in lists.
type File struct {
	Record      access.Ref
	Name        string
	Size        int64
	ContentType string
	// SHA256 is the hex SHA-256 of the bytes, computed by the store.
	SHA256    string
	CreatedBy string
	CreatedAt time.Time
	Data      []byte
}

// Audit actions of file writes: files are what a customer downloads (an
// invoice's PDF), so who put or removed one is kept.
const (
	FilePutAction    = "record.file_put"
	FileDeleteAction = "record.file_delete"
)

// ConversationStore stores the comments and files of records. Both belong
// to the record's row: a missing record is not_found, and deleting a
// record deletes them. Every write bumps the revision and runs w.Check
// and w.Mail in its transaction; comments are not audited (a record's
// data, like record writes), file writes are (FilePutAction,
// FileDeleteAction, target "record:<type>/<id>", name, size and sha256
// in after or before; never the bytes).
type ConversationStore interface {
	// CreateComment stores c with a new id and created_at and returns it;
	// comments of one instant list in the order they were written.
	CreateComment(ctx context.Context, w Write, c Comment) (Comment, int64, error)
	ListComments(ctx context.Context, f CommentFilter) ([]Comment, string, error)
	// PutFile creates or replaces the record's file f.Name (SHA256 and
	// CreatedAt assigned; Size is len(Data)), reporting whether it
	// created it.
	PutFile(ctx context.Context, w Write, f File) (created bool, rev int64, err error)
	// GetFile returns one file with its bytes, or not_found.
	GetFile(ctx context.Context, rec access.Ref, name string) (File, error)
	// ListFiles returns the record's files by name, without their bytes.
	ListFiles(ctx context.Context, rec access.Ref) ([]File, error)
	// DeleteFile removes one file; not_found when there is none.
	DeleteFile(ctx context.Context, w Write, rec access.Ref, name string) (int64, error)
}
