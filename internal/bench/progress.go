package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// IsTerminal reports whether f is a character device (a terminal), where
// the progress bar is redrawn in place; elsewhere it prints plain lines.
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress reports the phases of a generation: on a terminal one bar per
// phase redrawn at most 10 times a second, otherwise a line every 5
// seconds and one at the end of each phase. Each line shows items/s and
// the ETA of the phase.
type progress struct {
	w     io.Writer // nil: silent
	tty   bool
	phase string
	total int
	n     int
	begin time.Time
	last  time.Time
}

func newProgress(w io.Writer, tty bool) *progress { return &progress{w: w, tty: tty} }

func (p *progress) start(phase string, total int) {
	p.phase, p.total, p.n = phase, total, 0
	p.begin, p.last = time.Now(), time.Now()
}

func (p *progress) add(n int) {
	p.n += n
	if p.w == nil {
		return
	}
	every := 5 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if now := time.Now(); now.Sub(p.last) >= every {
		p.last = now
		p.print(false)
	}
}

func (p *progress) done() {
	if p.w != nil {
		p.print(true)
	}
}

func (p *progress) print(final bool) {
	el := time.Since(p.begin)
	rate := float64(p.n) / max(el.Seconds(), 1e-9)
	frac := 1.0
	if p.total > 0 {
		frac = float64(p.n) / float64(p.total)
	}
	eta := "-"
	if rate > 0 && p.n < p.total {
		eta = fmtDuration(time.Duration(float64(p.total-p.n) / rate * float64(time.Second)))
	}
	if final {
		eta = "done in " + fmtDuration(el)
	} else {
		eta = "ETA " + eta
	}
	if !p.tty {
		fmt.Fprintf(p.w, "%-8s %d/%d (%.0f%%) %.0f/s %s\n", p.phase, p.n, p.total, 100*frac, rate, eta)
		return
	}
	const width = 30
	fill := int(frac * width)
	bar := strings.Repeat("█", fill) + strings.Repeat("░", width-fill)
	fmt.Fprintf(p.w, "\r%-8s %s %3.0f%% %d/%d %.0f/s %s\033[K", p.phase, bar, 100*frac, p.n, p.total, rate, eta)
	if final {
		fmt.Fprintln(p.w)
	}
}

func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}
