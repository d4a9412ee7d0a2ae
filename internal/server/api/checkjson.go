package api

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/portcullis-dev/portcullis/internal/app"
)

// The bodies of check and check:batch, parsed and written by hand on their
// common path (#14): a check:batch of 100 spent about a sixth of its
// server CPU decoding the body by reflection and another fourteenth
// encoding the answer. The parser takes only the plain form, the one
// every client sends: the documented members in lower case, each once;
// strings of printable ASCII without escapes; integers. Anything else
// (other spellings, escapes, null, another member, a syntax error) makes
// it give up without touching the destination, and decode runs the
// general decoder, whose result and errors are the API's. So the fast
// path changes no answer, only what an answer costs
// (TestCheckBodiesMatchDecode).

// checkRequest is app.CheckRequest with the fast path of decode.
type checkRequest app.CheckRequest

// decodeFast parses a check body in the plain form into r.
func (r *checkRequest) decodeFast(b []byte) bool {
	p := newCheckParser(b)
	req := app.CheckRequest(*r)
	if !p.check(&req) || !p.end() {
		return false
	}
	*r = checkRequest(req)
	return true
}

// decodeFast parses a check:batch body in the plain form into r.
func (r *checkBatchRequest) decodeFast(b []byte) bool {
	if r.Checks != nil {
		return false // the general decoder's merge into a slice is its own
	}
	p := newCheckParser(b)
	out := *r
	ok := p.object(batchMembers, func(k int) bool {
		if k == 0 {
			return p.checks(&out.Checks)
		}
		return p.int(&out.MinRevision)
	})
	if !ok || !p.end() {
		return false
	}
	*r = out
	return true
}

// checkParser reads the plain form of a check body from b at i. The
// strings it returns are cut from s, one copy of the whole body, so a
// batch's hundreds of values cost one allocation.
type checkParser struct {
	b []byte
	s string
	i int
}

func newCheckParser(b []byte) checkParser { return checkParser{b: b, s: string(b)} }

func (p *checkParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// tok consumes c after optional whitespace.
func (p *checkParser) tok(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (p *checkParser) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// The members of the plain form, each taken at most once.
var (
	batchMembers = []string{"checks", "min_revision"}
	checkMembers = []string{"user", "action", "type", "id", "min_revision"}
)

// object reads an object whose keys are among keys, each at most once,
// calling member with the key's index and the parser before its value
// (after the colon).
func (p *checkParser) object(keys []string, member func(k int) bool) bool {
	if !p.tok('{') {
		return false
	}
	if p.tok('}') {
		return true
	}
	var seen uint
	for {
		key, ok := p.str()
		k := slices.Index(keys, key)
		if !ok || k < 0 || seen&(1<<k) != 0 || !p.tok(':') || !member(k) {
			return false
		}
		seen |= 1 << k
		if p.tok('}') {
			return true
		}
		if !p.tok(',') {
			return false
		}
	}
}

// str reads a string of plain bytes (printable ASCII but '"' and '\').
func (p *checkParser) str() (string, bool) {
	if !p.tok('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) && plainStringByte[p.b[p.i]] {
		p.i++
	}
	if p.i == len(p.b) || p.b[p.i] != '"' {
		return "", false
	}
	s := p.s[start:p.i]
	p.i++
	return s, true
}

// int reads an integer in JSON's grammar (no fraction or exponent) that
// fits an int64.
func (p *checkParser) int(v *int64) bool {
	p.ws()
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	if p.i == digits || (p.b[digits] == '0' && p.i > digits+1) {
		return false
	}
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return false
	}
	n, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 64)
	if err != nil {
		return false
	}
	*v = n
	return true
}

// checks reads an array of check objects.
func (p *checkParser) checks(out *[]app.CheckRequest) bool {
	if !p.tok('[') {
		return false
	}
	// Room for the objects the rest of the body opens, but never more
	// than a batch may hold: a body of a million braces is refused by
	// CheckBatch, not answered with a million slots.
	list := make([]app.CheckRequest, 0, min(bytes.Count(p.b[p.i:], []byte("{")), app.MaxChecks))
	if !p.tok(']') {
		for {
			var c app.CheckRequest
			if !p.check(&c) {
				return false
			}
			list = append(list, c)
			if p.tok(']') {
				break
			}
			if !p.tok(',') {
				return false
			}
		}
	}
	*out = list
	return true
}

// check reads one check object into c.
func (p *checkParser) check(c *app.CheckRequest) bool {
	return p.object(checkMembers, func(k int) bool {
		var ok bool
		switch k {
		case 0:
			c.User, ok = p.str()
		case 1:
			c.Action, ok = p.str()
		case 2:
			c.Type, ok = p.str()
		case 3:
			c.ID, ok = p.str()
		default:
			ok = p.int(&c.MinRevision)
		}
		return ok
	})
}

// appendCheckResult appends one result as writeJSON writes it (without
// the newline).
func appendCheckResult(b []byte, r app.CheckResult) ([]byte, error) {
	b = append(b, `{"allowed":`...)
	b = strconv.AppendBool(b, r.Allowed)
	b = append(b, `,"fields":`...)
	if r.Fields == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, f := range r.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendStringV1(b, f); err != nil {
				return b, err
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"revision":`...)
	b = strconv.AppendInt(b, r.Revision, 10)
	return append(b, '}'), nil
}

// appendStringV1 appends s quoted as writeJSON (encoding/json) writes it:
// verbatim when every byte is printable ASCII other than '"' and '\',
// else by encoding/json (which escapes invalid UTF-8 its own way). Field
// names are identifiers: the second case is for completeness.
func appendStringV1(b []byte, s string) ([]byte, error) {
	if plainString(s) {
		return appendQuoted(b, s), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return b, err
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}

// appendCheckResults appends a check:batch answer and a newline.
func appendCheckResults(b []byte, results []app.CheckResult) ([]byte, error) {
	b = append(b, `{"results":`...)
	if results == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, r := range results {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendCheckResult(b, r); err != nil {
				return b, err
			}
		}
		b = append(b, ']')
	}
	return append(b, "}\n"...), nil
}
