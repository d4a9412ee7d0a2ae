package sqlstore

import (
	"database/sql"
	"encoding/json"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// A record write that changes who else may see the record, its owner,
// teams or parent, is audited as store.SharingAction with target
// "record:<type>/<id>" and before/after holding those three fields only
// (the attributes are data, not access). The stored row is compared inside
// the write transaction, so only rows that change get an entry: a
// re-import of 10,000 unchanged owners writes none. Creating a record is
// audited only when it carries team entries: its owner and parent are
// where the ERP puts every record, and its creation is in the change log;
// teams are a deliberate sharing beyond the owner.
//
// Deleting a record ends every path to it, so each deleted record (by
// DELETE or in a batch; a delete of a missing record changes nothing and
// writes nothing) is audited as store.DeleteAction, with the sharing it
// had as before: whoever asks who could see a record and why finds when
// and by whom it went.

// sharing is the audited part of a record.
type sharing struct {
	Owner  *string            `json:"owner"`
	Teams  []access.TeamEntry `json:"teams"`
	Parent *access.Ref        `json:"parent"`
}

// storedSharing is the sharing columns of a stored record row, as read
// inside the write transaction before it is replaced.
type storedSharing struct {
	owner, parentType, parentID, teams sql.NullString
}

// dest returns the scan destinations of owner, parent_type,
// parent_id and teams, in that order.
func (h *storedSharing) dest() []any { return []any{&h.owner, &h.parentType, &h.parentID, &h.teams} }

// same reports whether row r leaves the stored sharing as it is. Teams
// are compared as the JSON text both were encoded to (encodeRow).
func (h *storedSharing) same(r *recordRow) bool {
	return sameNull(h.owner, r.owner) && sameNull(h.parentType, r.parentType) &&
		sameNull(h.parentID, r.parentID) && sameNull(h.teams, r.teams)
}

func sameNull(stored sql.NullString, v any) bool {
	s, ok := v.(string)
	return stored.Valid == ok && stored.String == s
}

// value is the stored sharing as audited.
func (h *storedSharing) value() sharing {
	var v sharing
	if h.owner.Valid {
		v.Owner = &h.owner.String
	}
	if h.parentType.Valid && h.parentID.Valid {
		v.Parent = &access.Ref{Type: h.parentType.String, ID: h.parentID.String}
	}
	if h.teams.Valid {
		_ = json.Unmarshal([]byte(h.teams.String), &v.Teams)
	}
	return v
}

// rowSharing is row r's sharing as audited.
func rowSharing(r *recordRow) sharing {
	v := sharing{Teams: r.entries}
	if s, ok := r.owner.(string); ok {
		v.Owner = &s
	}
	pt, okT := r.parentType.(string)
	pid, okI := r.parentID.(string)
	if okT && okI {
		v.Parent = &access.Ref{Type: pt, ID: pid}
	}
	return v
}

// auditSharing queues the record.sharing entry of writing row r over the
// stored sharing before (nil for a new record), when there is one to
// write.
func (t *wtx) auditSharing(before *storedSharing, r *recordRow) error {
	if before == nil {
		if len(r.entries) == 0 {
			return nil
		}
		return t.logf(t.actor, store.SharingAction, "record:"+r.typ+"/"+r.id, nil, rowSharing(r))
	}
	if before.same(r) {
		return nil
	}
	return t.logf(t.actor, store.SharingAction, "record:"+r.typ+"/"+r.id, before.value(), rowSharing(r))
}

// auditDelete queues the record.delete entry of deleting record typ/id,
// whose stored sharing was before.
func (t *wtx) auditDelete(typ, id string, before *storedSharing) error {
	return t.logf(t.actor, store.DeleteAction, "record:"+typ+"/"+id, before.value(), nil)
}
