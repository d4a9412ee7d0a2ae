package surface

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
)

// ServeFile writes a file download: the headers every surface sends with
// a record's file (attachment, nosniff, a sandboxing CSP, the stored
// type where it is safe) and the bytes.
func ServeFile(w http.ResponseWriter, f app.FileData) {
	ct := f.Type
	if !app.InlineSafe(ct) {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Content-Length", strconv.Itoa(len(f.Data)))
	h.Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(f.Data)
}

// ReadFileBody reads a file's bytes from body, at most limit: a larger
// body is CodeTooLarge (whether the route's MaxBytesReader or limit
// stops it).
func ReadFileBody(body io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) || int64(len(data)) > limit:
		return nil, access.Errorf(access.CodeTooLarge, "the file is larger than %d bytes", limit)
	case err != nil:
		return nil, access.Errorf(access.CodeInvalid, "the request body could not be read")
	}
	return data, nil
}
