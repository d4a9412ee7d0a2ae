package sqlstore

// The conversation and files of records (store.ConversationStore), schema
// migrations/*/0008_conversation.sql. Both reference the record's row:
// a write looks the row up inside its transaction (not_found when the
// record is gone), and deleting the record deletes them.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// recordPK returns the row key of a record inside t, or not_found.
func (t *wtx) recordPK(rec access.Ref) (int64, error) {
	var pk int64
	err := t.queryRow(`SELECT pk FROM records WHERE type = ? AND id = ?`, rec.Type, rec.ID).Scan(&pk)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("%s %s not found", rec.Type, rec.ID)
	}
	if err != nil {
		return 0, fmt.Errorf("find record: %w", err)
	}
	return pk, nil
}

// CreateComment stores a comment on an existing record.
func (s *Store) CreateComment(ctx context.Context, w store.Write, c store.Comment) (store.Comment, int64, error) {
	rev, err := s.write(ctx, w, func(t *wtx) error {
		pk, err := t.recordPK(c.Record)
		if err != nil {
			return err
		}
		// The id leads with the revision, so comments of one instant
		// (a frozen clock, one microsecond) keep the order they were
		// written in; the revision is no secret (Portcullis-Revision).
		c.ID, c.CreatedAt = fmt.Sprintf("c_%012d%s", t.rev, randomID(4)), t.now
		if _, err := t.exec(`INSERT INTO record_comments (id, record_pk, record_type, record_id, author, author_kind, body, internal, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, pk, c.Record.Type, c.Record.ID, c.Author, c.AuthorKind, c.Body, c.Internal, toMicros(c.CreatedAt)); err != nil {
			return fmt.Errorf("insert comment: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.Comment{}, 0, err
	}
	return c, rev, nil
}

// ListComments pages through comments in (created_at, id) order; the
// cursor is the last item's "<micros>.<id>".
func (s *Store) ListComments(ctx context.Context, f store.CommentFilter) ([]store.Comment, string, error) {
	var where []string
	var args []any
	if f.Record != nil {
		where = append(where, `c.record_pk = (SELECT pk FROM records WHERE type = ? AND id = ?)`)
		args = append(args, f.Record.Type, f.Record.ID)
	}
	if f.Since != nil {
		where = append(where, `c.created_at >= ?`)
		args = append(args, toMicros(*f.Since))
	}
	if f.External {
		where = append(where, `c.internal = ?`)
		args = append(args, false)
	}
	if f.Cursor != "" {
		key, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		us, id, ok := strings.Cut(key, ".")
		at, perr := strconv.ParseInt(us, 10, 64)
		if !ok || perr != nil {
			return nil, "", invalid("invalid cursor")
		}
		where = append(where, `(c.created_at > ? OR (c.created_at = ? AND c.id > ?))`)
		args = append(args, at, at, id)
	}
	q := `SELECT c.id, c.record_type, c.record_id, c.author, c.author_kind, c.body, c.internal, c.created_at FROM record_comments c`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	n := limit(f.Limit)
	rows, err := s.query(ctx, q+` ORDER BY c.created_at, c.id LIMIT ?`, append(args, n+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list comments: %w", err)
	}
	defer rows.Close()
	out := []store.Comment{}
	for rows.Next() {
		var c store.Comment
		var at int64
		if err := rows.Scan(&c.ID, &c.Record.Type, &c.Record.ID, &c.Author, &c.AuthorKind, &c.Body, &c.Internal, &at); err != nil {
			return nil, "", fmt.Errorf("list comments: %w", err)
		}
		c.CreatedAt = fromMicros(at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list comments: %w", err)
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		last := out[n-1]
		next = encodeCursor(strconv.FormatInt(toMicros(last.CreatedAt), 10) + "." + last.ID)
	}
	return out, next, nil
}

// fileAudit is what the audit log keeps of a file: never its bytes.
type fileAudit struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Type   string `json:"type"`
	SHA256 string `json:"sha256"`
}

// storedFile returns what the audit keeps of a record's file, nil when
// there is none.
func (t *wtx) storedFile(pk int64, name string) (*fileAudit, error) {
	var f fileAudit
	err := t.queryRow(`SELECT name, size, content_type, sha256 FROM record_files WHERE record_pk = ? AND name = ?`, pk, name).
		Scan(&f.Name, &f.Size, &f.Type, &f.SHA256)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read file: %w", err)
	}
	return &f, nil
}

// PutFile creates or replaces a file of an existing record.
func (s *Store) PutFile(ctx context.Context, w store.Write, f store.File) (bool, int64, error) {
	sum := sha256.Sum256(f.Data)
	f.SHA256, f.Size = hex.EncodeToString(sum[:]), int64(len(f.Data))
	if f.Data == nil {
		f.Data = []byte{}
	}
	created := false
	rev, err := s.write(ctx, w, func(t *wtx) error {
		pk, err := t.recordPK(f.Record)
		if err != nil {
			return err
		}
		before, err := t.storedFile(pk, f.Name)
		if err != nil {
			return err
		}
		created = before == nil
		if _, err := t.exec(`INSERT INTO record_files (record_pk, name, size, content_type, sha256, data, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (record_pk, name) DO UPDATE SET size = excluded.size, content_type = excluded.content_type,
			sha256 = excluded.sha256, data = excluded.data, created_by = excluded.created_by, created_at = excluded.created_at`,
			pk, f.Name, f.Size, f.ContentType, f.SHA256, f.Data, t.by, toMicros(t.now)); err != nil {
			return fmt.Errorf("write file: %w", err)
		}
		var was any // nil, not a nil *fileAudit: a new file has no before
		if before != nil {
			was = before
		}
		return t.logf(t.actor, store.FilePutAction, recordTarget(f.Record), was, fileAudit{Name: f.Name, Size: f.Size, Type: f.ContentType, SHA256: f.SHA256})
	})
	return created, rev, err
}

// recordTarget is a record as audit entries name it.
func recordTarget(r access.Ref) string { return "record:" + r.Type + "/" + r.ID }

const fileColumns = `f.name, f.size, f.content_type, f.sha256, f.created_by, f.created_at`

func scanFile(sc rowScanner, rec access.Ref, data *[]byte) (store.File, error) {
	f := store.File{Record: rec}
	var at int64
	dst := []any{&f.Name, &f.Size, &f.ContentType, &f.SHA256, &f.CreatedBy, &at}
	if data != nil {
		dst = append(dst, data)
	}
	if err := sc.Scan(dst...); err != nil {
		return f, err
	}
	f.CreatedAt = fromMicros(at)
	return f, nil
}

const fileOfRecord = ` FROM record_files f JOIN records r ON r.pk = f.record_pk WHERE r.type = ? AND r.id = ?`

// GetFile returns one file with its bytes.
func (s *Store) GetFile(ctx context.Context, rec access.Ref, name string) (store.File, error) {
	var data []byte
	f, err := scanFile(s.queryRow(ctx, `SELECT `+fileColumns+`, f.data`+fileOfRecord+` AND f.name = ?`, rec.Type, rec.ID, name), rec, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return store.File{}, notFound("file %s not found", name)
	}
	if err != nil {
		return store.File{}, fmt.Errorf("get file: %w", err)
	}
	if data == nil {
		data = []byte{}
	}
	f.Data = data
	return f, nil
}

// ListFiles returns a record's files by name, without bytes.
func (s *Store) ListFiles(ctx context.Context, rec access.Ref) ([]store.File, error) {
	rows, err := s.query(ctx, `SELECT `+fileColumns+fileOfRecord+` ORDER BY f.name`, rec.Type, rec.ID)
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	defer rows.Close()
	out := []store.File{}
	for rows.Next() {
		f, err := scanFile(rows, rec, nil)
		if err != nil {
			return nil, fmt.Errorf("list files: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// DeleteFile removes one file of a record.
func (s *Store) DeleteFile(ctx context.Context, w store.Write, rec access.Ref, name string) (int64, error) {
	return s.write(ctx, w, func(t *wtx) error {
		pk, err := t.recordPK(rec)
		if err != nil {
			return err
		}
		old, err := t.storedFile(pk, name)
		if err != nil {
			return err
		}
		if old == nil {
			return notFound("file %s not found", name)
		}
		if _, err := t.exec(`DELETE FROM record_files WHERE record_pk = ? AND name = ?`, pk, name); err != nil {
			return fmt.Errorf("delete file: %w", err)
		}
		return t.logf(t.actor, store.FileDeleteAction, recordTarget(rec), old, nil)
	})
}
