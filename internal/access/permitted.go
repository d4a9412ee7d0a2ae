package access

import (
	"sort"

	"github.com/portcullis-dev/portcullis/internal/policy"
)

// Permitted returns the ids, sorted, of every external user who may do
// action (read, update or delete) on r: the reverse of Allowed, as Viewers
// is for read, without the paths. Staff are not listed: admins and access
// managers may do everything, auditors read. The candidates are the users
// holding a grant that could reach r (on its owner, its team accounts or
// their ancestors, and likewise for the parents a sharing rule follows) and
// r's team users; each is then decided as Allowed decides, so a user listed
// here is exactly one for whom Allowed answers true.
func (e *Engine) Permitted(r *Record, action policy.Actions, src RecordSource) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	t := e.pol.Type(r.Type)
	if t == nil {
		return nil
	}
	cands := map[*user]bool{}
	e.viewerCandidates(r, t, src, 0, cands)
	out := []string{}
	for u := range cands {
		if u.Status != StatusActive || u.Kind != KindExternal {
			continue
		}
		d := e.newDecision(u, src)
		if d.walk(r, t, func(p path) bool { return d.allows(&p, r, t, action) }) {
			out = append(out, u.ID)
		}
	}
	sort.Strings(out)
	return out
}
