package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run: every figure, the dataset and the
// machine it was measured on. It is what `bench run --json` writes and
// `bench compare` reads.
type Report struct {
	Started  time.Time `json:"started"`
	Machine  Machine   `json:"machine"`
	Dataset  Dataset   `json:"dataset"`
	Duration string    `json:"duration"`
	Results  []Result  `json:"results"`
	// Failures lists the correctness problems: a run with any fails.
	Failures []string `json:"failures,omitempty"`
}

// Machine describes where a report was measured.
type Machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model,omitempty"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	// Load is the 1-minute load average at the start (Linux), a hint of
	// noise from other processes.
	Load string `json:"load,omitempty"`
}

// Dataset names the dataset a report was measured on.
type Dataset struct {
	Backend string `json:"backend"`
	Size    string `json:"size"`
	Seed    uint64 `json:"seed"`
	Epoch   string `json:"epoch"`
	Records int    `json:"records"`
	Users   int    `json:"users"`
	Grants  int    `json:"grants"`
	Target  string `json:"target"` // "in-process", the child process or the --url
}

// Result is one measured series: a workload, for the list workloads one
// per user class.
type Result struct {
	Name string `json:"name"`
	// Unit is what Rate counts per second (requests, decisions, records).
	Unit    string  `json:"unit"`
	Ops     int64   `json:"ops"`
	Seconds float64 `json:"seconds"`
	Rate    float64 `json:"rate"`
	// Latencies of one operation, in milliseconds.
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
	// CPU is the CPU time per operation in microseconds that CPUOf (the
	// server process, when it runs apart from the load generator) used
	// during the measured window: on a shared machine a steadier figure
	// than the latencies.
	CPU   float64 `json:"cpu_us_per_op,omitempty"`
	CPUOf string  `json:"cpu_of,omitempty"`
	// Errors counts failed operations and wrong answers; ErrorSamples
	// shows a few.
	Errors       int64    `json:"errors"`
	ErrorSamples []string `json:"error_samples,omitempty"`
	// Figures are workload-specific numbers (staleness, memory, pages).
	Figures map[string]float64 `json:"figures,omitempty"`
	Target  string             `json:"target,omitempty"`
	// Met says whether the target was met (absent without a target).
	Met  *bool  `json:"met,omitempty"`
	Note string `json:"note,omitempty"`
}

// OK reports whether the run had no correctness failures.
func (r *Report) OK() bool {
	if len(r.Failures) > 0 {
		return false
	}
	for _, x := range r.Results {
		if x.Errors > 0 {
			return false
		}
	}
	return true
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	d := r.Dataset
	fmt.Fprintf(w, "\ndataset %s on %s (seed %d, epoch %s): %d records, %d users, %d grants; server %s\n",
		d.Size, d.Backend, d.Seed, d.Epoch, d.Records, d.Users, d.Grants, d.Target)
	m := r.Machine
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d) %s, %s %s/%s, load %s; %s per series\n\n",
		m.CPUs, m.GOMAXPROCS, m.CPUModel, m.GoVersion, m.OS, m.Arch, m.Load, r.Duration)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tops\trate\tcpu µs/op\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\ttarget\t\t")
	for _, x := range r.Results {
		met := ""
		if x.Met != nil {
			met = "ok"
			if !*x.Met {
				met = "MISSED"
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t\n", x.Name, x.Ops, fmtRate(x.Rate, x.Unit),
			fmtCPU(x.CPU), fmtMs(x.P50), fmtMs(x.P90), fmtMs(x.P99), fmtMs(x.Max), x.Errors, x.Target, met)
	}
	tw.Flush()
	for _, x := range r.Results {
		if len(x.Figures) == 0 && x.Note == "" {
			continue
		}
		keys := make([]string, 0, len(x.Figures))
		for k := range x.Figures {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%s", k, fmtFloat(x.Figures[k])))
		}
		if x.Note != "" {
			parts = append(parts, x.Note)
		}
		fmt.Fprintf(w, "  %s: %s\n", x.Name, strings.Join(parts, ", "))
	}
	cpuOf := map[string][]string{}
	var sources []string
	for _, x := range r.Results {
		if x.CPUOf != "" {
			if cpuOf[x.CPUOf] == nil {
				sources = append(sources, x.CPUOf)
			}
			cpuOf[x.CPUOf] = append(cpuOf[x.CPUOf], x.Name)
		}
	}
	for _, src := range sources {
		fmt.Fprintf(w, "  cpu µs/op of %s: %s\n", strings.Join(cpuOf[src], ", "), src)
	}
	for _, x := range r.Results {
		for _, e := range x.ErrorSamples {
			fmt.Fprintf(w, "  error in %s: %s\n", x.Name, e)
		}
	}
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  FAILURE: %s\n", f)
	}
	if r.OK() {
		fmt.Fprintln(w, "\nall workloads completed without errors")
	} else {
		fmt.Fprintln(w, "\nthe run FAILED: see the errors above")
	}
}

func fmtRate(v float64, unit string) string {
	if v == 0 {
		return "-"
	}
	return fmtFloat(v) + " " + unit + "/s"
}

func fmtCPU(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmtFloat(v)
}

func fmtMs(v float64) string {
	if v == 0 {
		return "-"
	}
	switch {
	case v < 0.01:
		return fmt.Sprintf("%.4f", v)
	case v < 1:
		return fmt.Sprintf("%.3f", v)
	case v < 100:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func fmtFloat(v float64) string {
	switch {
	case v >= 100:
		return groupThousands(int64(v + 0.5))
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.4g", v)
}

func groupThousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Compare prints, for every series and figure present in both reports,
// the value in a, in b and the ratio b/a.
func Compare(w io.Writer, a, b *Report, nameA, nameB string) {
	fmt.Fprintf(w, "A: %s  (%s %s, %s, %d CPUs)\n", nameA, a.Dataset.Size, a.Dataset.Backend, a.Started.Format(time.DateTime), a.Machine.CPUs)
	fmt.Fprintf(w, "B: %s  (%s %s, %s, %d CPUs)\n\n", nameB, b.Dataset.Size, b.Dataset.Backend, b.Started.Format(time.DateTime), b.Machine.CPUs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tfigure\tA\tB\tB/A\t")
	byName := map[string]Result{}
	for _, x := range a.Results {
		byName[x.Name] = x
	}
	for _, y := range b.Results {
		x, ok := byName[y.Name]
		if !ok {
			continue
		}
		row := func(fig string, va, vb float64) {
			if va == 0 && vb == 0 {
				return
			}
			ratio := "-"
			if va != 0 {
				ratio = fmt.Sprintf("%.2f", vb/va)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", y.Name, fig, fmtFloat(va), fmtFloat(vb), ratio)
		}
		row("rate", x.Rate, y.Rate)
		row("cpu_us_per_op", x.CPU, y.CPU)
		row("p50_ms", x.P50, y.P50)
		row("p90_ms", x.P90, y.P90)
		row("p99_ms", x.P99, y.P99)
		keys := make([]string, 0, len(y.Figures))
		for k := range y.Figures {
			if _, ok := x.Figures[k]; ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			row(k, x.Figures[k], y.Figures[k])
		}
		if x.Errors != 0 || y.Errors != 0 {
			row("errors", float64(x.Errors), float64(y.Errors))
		}
	}
	tw.Flush()
}
