package admin

import (
	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// oneInput shows a domain error of a form with a single input: the
// message in the live region and next to that input, whatever the error's
// Field. It returns the status to render with; an internal error is
// returned as is, for the error page.
func oneInput(p *render.Page, err error, inputID string) (int, error) {
	status, ierr := render.FormError(p, err, nil)
	if ierr != nil {
		return 0, ierr
	}
	if p.Errors == nil {
		p.Errors = map[string]string{}
	}
	if _, set := p.Errors[inputID]; !set {
		p.Errors[inputID] = p.Error
	}
	return status, nil
}

// listError is what a list page does with the error of its one query: a
// CodeInvalid (or CodeInvalidField) error, such as a bad cursor, becomes
// the page's message and status 400; any other error is returned for the
// error page.
func listError(p *render.Page, err error) (int, error) {
	e := surface.DomainError(err)
	if e == nil || (e.Code != access.CodeInvalid && e.Code != access.CodeInvalidField) {
		return 0, err
	}
	p.Error = e.Message
	return surface.Status(e.Code), nil
}

// isCode reports whether err is a domain error with one of codes.
func isCode(err error, codes ...string) bool {
	got := access.ErrorCode(err)
	for _, c := range codes {
		if got == c {
			return true
		}
	}
	return false
}
