package render

import "net/url"

// BackParam is the query parameter of a list page that carries the
// cursors of the pages before it (oldest first, the first page's empty
// cursor left out): the way back, since the store's cursors go forward
// only. A cursor stays valid for the same filters and sort whatever
// changes, so the way back shows the pages exactly as they were reached.
const BackParam = "back"

// Pager is the pager of a list page reached through cursors.
type Pager struct {
	// Prev, Next and First are the URLs of the previous, next and first
	// page ("" when there is none, or when on the first page).
	Prev, Next, First string
	// Depth is the page's index (0 for the first page): with a constant
	// page size, the page starts after Depth × size records.
	Depth int
}

// Paging returns the pager of the list page at path with query filters
// (its cursor and BackParam among them), whose store answered next as
// the next page's cursor.
func Paging(path string, filters url.Values, next string) Pager {
	link := func(q url.Values) string {
		if len(q) == 0 {
			return path
		}
		return path + "?" + q.Encode()
	}
	q := CloneValues(filters)
	cursor, back := q.Get("cursor"), q[BackParam]
	q.Del("cursor")
	q.Del(BackParam)
	var p Pager
	if cursor != "" {
		p.Depth = len(back) + 1
		p.First = link(q)
		prev := CloneValues(q)
		if n := len(back); n > 0 {
			prev.Set("cursor", back[n-1])
			if n > 1 {
				prev[BackParam] = back[:n-1]
			}
		}
		p.Prev = link(prev)
	}
	if next != "" {
		nq := CloneValues(q)
		nq.Set("cursor", next)
		if cursor != "" {
			nq[BackParam] = append(append([]string(nil), back...), cursor)
		}
		p.Next = link(nq)
	}
	return p
}
