package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/bench"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// importCmd is `portcullis import --kind K [--type T] FILE`: app.Import as
// the command line's system actor, with a progress bar on a terminal (a
// line every 5 seconds elsewhere).
func importCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := dbFlags("import")
	kind := stringFlag(fs, "kind", "", "what the file holds: accounts, users, grants or records")
	typ := stringFlag(fs, "type", "", "the object type of a records file")
	format := stringFlag(fs, "format", "", "csv or ndjson (default: from the file's extension)")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	if *kind == "" {
		return usageError{"import needs --kind accounts|users|grants|records"}
	}
	path := fs.Arg(0)
	if *format == "" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".csv":
			*format = app.FormatCSV
		case ".ndjson", ".jsonl":
			*format = app.FormatNDJSON
		default:
			return usageError{"import: name the format with --format csv|ndjson"}
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	a, st, closeApp, err := openAppStore(ctx, *db)
	if err != nil {
		return err
	}
	defer closeApp()
	cr := &countingReader{r: f}
	pb := &importProgress{w: stdout, tty: bench.IsTerminal(os.Stdout), total: fi.Size(), read: &cr.n, begin: time.Now()}
	res, err := a.Import(ctx, app.SystemActor("cli"), app.ImportRequest{Kind: *kind, Type: *typ, Format: *format, Body: cr, Progress: pb.items})
	pb.finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d %s in %.1fs (revision %d)\n", res.Imported, res.Kind, time.Since(pb.begin).Seconds(), res.Revision)
	return writeSearchBacklog(ctx, st, stdout)
}

// writeSearchBacklog writes the search entries a large import left to be
// written behind it (SQLite) before the command exits, saying so: the
// records are listed and searched already, by a scan until then. An
// interrupted command leaves the rest to the server.
func writeSearchBacklog(ctx context.Context, st *sqlstore.Store, stdout io.Writer) error {
	n, err := st.SearchBacklog(ctx)
	if err != nil || n == 0 {
		return err
	}
	fmt.Fprintf(stdout, "writing the search index of about %d records (searches find them meanwhile; if interrupted, the server finishes it)\n", n)
	start := time.Now()
	if err := st.IndexSearchBacklog(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "search index written in %.1fs\n", time.Since(start).Seconds())
	return nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// importProgress draws the bar of an import: the share of the file read,
// items per second and the ETA, redrawn at most 10 times a second.
type importProgress struct {
	w     io.Writer
	tty   bool
	total int64
	read  *atomic.Int64
	begin time.Time
	last  time.Time
	n     int
	drawn bool
}

func (p *importProgress) items(n int) {
	p.n = n
	every := 5 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if now := time.Now(); now.Sub(p.last) >= every {
		p.last = now
		p.print(false)
	}
}

func (p *importProgress) finish() {
	if p.drawn || p.tty {
		p.print(true)
	}
}

func (p *importProgress) print(final bool) {
	p.drawn = true
	el := time.Since(p.begin)
	frac := 1.0
	if p.total > 0 {
		frac = min(1, float64(p.read.Load())/float64(p.total))
	}
	rate := float64(p.n) / max(el.Seconds(), 1e-9)
	eta := "-"
	if frac > 0 && frac < 1 {
		eta = (time.Duration(float64(el) * (1 - frac) / frac)).Round(time.Second).String()
	}
	if !p.tty {
		fmt.Fprintf(p.w, "import %d items (%.0f%% of the file) %.0f/s ETA %s\n", p.n, 100*frac, rate, eta)
		return
	}
	const width = 30
	fill := int(frac * width)
	bar := strings.Repeat("█", fill) + strings.Repeat("░", width-fill)
	fmt.Fprintf(p.w, "\rimport %s %3.0f%% %d items %.0f/s ETA %s\033[K", bar, 100*frac, p.n, rate, eta)
	if final {
		fmt.Fprintln(p.w)
	}
}
