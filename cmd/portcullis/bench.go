package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/bench"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// benchCmd runs `portcullis bench gen|run|compare` (shared/BENCHMARKS.md).
func benchCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"bench: use gen, run or compare"}
	}
	switch args[0] {
	case "gen":
		return benchGen(ctx, args[1:], stdout)
	case "run":
		return benchRun(ctx, args[1:], stdout)
	case "compare":
		fs := flag.NewFlagSet("bench compare", flag.ContinueOnError)
		if err := parse(fs, args[1:], 2); err != nil {
			return err
		}
		a, err := bench.ReadReport(fs.Arg(0))
		if err != nil {
			return err
		}
		b, err := bench.ReadReport(fs.Arg(1))
		if err != nil {
			return err
		}
		bench.Compare(stdout, a, b, fs.Arg(0), fs.Arg(1))
		return nil
	}
	return usageError{fmt.Sprintf("bench: unknown subcommand %q: use gen, run or compare", args[0])}
}

func benchGen(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := dbFlags("bench gen")
	size := stringFlag(fs, "size", "small", "dataset size: small, medium or large")
	seed := stringFlag(fs, "seed", "1", "random seed: equal seeds (and epochs) give equal data")
	epoch := stringFlag(fs, "epoch", "", "the dataset's today, YYYY-MM-DD (default: today)")
	profile := stringFlag(fs, "cpuprofile", "", "write a CPU profile of the generation to this file")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	sz, err := bench.SizeByName(*size)
	if err != nil {
		return usageError{err.Error()}
	}
	sd, err := strconv.ParseUint(*seed, 10, 64)
	if err != nil {
		return usageError{fmt.Sprintf("--seed %q: use a non-negative integer", *seed)}
	}
	var ep time.Time
	if *epoch != "" {
		if ep, err = time.Parse(time.DateOnly, *epoch); err != nil {
			return usageError{fmt.Sprintf("--epoch %q: use YYYY-MM-DD", *epoch)}
		}
	}
	if !sqlstore.IsPostgres(*db) {
		if _, err := os.Stat(*db); err == nil {
			return fmt.Errorf("%s exists: bench gen writes a fresh database; remove it or choose another --db", *db)
		}
	}
	st, err := sqlstore.Open(ctx, *db, sqlstore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer st.Close()
	f, err := follow.Start(ctx, st, follow.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(stdout, "generating the %s dataset (seed %d) into %s\n", sz.Name, sd, sqlstore.RedactDSN(*db))
	// The generator allocates a few kilobytes of short-lived garbage per
	// record beside the live heap of the access model (about a GB at
	// large): at the default GOGC the collector marked that heap over and
	// over, 11 % of large's CPU (3 % at GOGC 300, but 5.7 GB of RSS). A
	// generation is a batch job: GOGC 300 up to a soft limit of 3 GiB.
	defer debug.SetGCPercent(debug.SetGCPercent(300))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(3 << 30))
	if *profile != "" {
		pf, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	meta, err := bench.Generate(ctx, st, f.Engine(), bench.GenOptions{Size: sz, Seed: sd, Epoch: ep, Progress: stdout,
		Terminal: bench.IsTerminal(os.Stdout)})
	if err != nil {
		return err
	}
	c := meta.Counts
	fmt.Fprintf(stdout, "done in %.1fs: %d accounts, %d users, %d direct grants (+%d account group grants), %d records (%d sales orders)\n",
		meta.GenSeconds, c.Accounts, c.Users, c.DirectGrants, c.GroupGrants, c.Records, c.SalesOrders)
	fmt.Fprintf(stdout, "checksum %s, epoch %s\n", meta.Checksum, meta.Epoch)
	fmt.Fprintf(stdout, "admin: %s / %s; API token (also stored in bench_meta): %s\n", meta.AdminEmail, meta.AdminPassword, meta.AdminToken)
	for _, cl := range meta.Classes {
		fmt.Fprintf(stdout, "user class %-12s %s (%s / %s): %d accounts, %d visible orders\n", cl.Name, cl.User, cl.Email,
			meta.UserPassword, cl.Reach, cl.ExpectedOrders(time.Now()))
	}
	return nil
}

func benchRun(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := dbFlags("bench run")
	workloads := stringFlag(fs, "workload", "", "comma-separated workloads (default all): "+strings.Join(bench.Workloads, ","))
	duration := durationFlag(fs, "duration", 30*time.Second, "measured time of each series, after its warm-up")
	url := stringFlag(fs, "url", "", "measure a running server over the same database instead of an in-process one")
	metricsURL := stringFlag(fs, "metrics-url", "", "with --url: that server's metrics, served on its --metrics-addr (e.g. http://127.0.0.1:9090/metrics)")
	jsonOut := stringFlag(fs, "json", "", "also write the report as JSON to this file")
	profiles := stringFlag(fs, "cpuprofile", "", "write a CPU profile of this process per workload into this directory (the server's only with --in-process, where it includes the load generator)")
	inProcess := fs.Bool("in-process", false, "run the measured server inside the bench process instead of as a child process (its CPU figures then include the load generator's)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	var wl []string
	for _, w := range strings.Split(*workloads, ",") {
		if w = strings.TrimSpace(w); w != "" {
			wl = append(wl, w)
		}
	}
	opts := bench.RunOptions{DSN: *db, URL: *url, MetricsURL: *metricsURL, Workloads: wl, Duration: *duration, Log: stdout,
		ProfileDir: *profiles}
	if *url == "" && !*inProcess {
		// The server runs as a child process of this binary, so that its
		// CPU per request is measured apart from the load generator's.
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		opts.ServerCommand = []string{exe, "serve"}
	}
	rep, err := bench.Run(ctx, opts)
	if err != nil {
		return err
	}
	rep.Print(stdout)
	if *jsonOut != "" {
		if err := rep.WriteJSON(*jsonOut); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "report written to %s\n", *jsonOut)
	}
	if !rep.OK() {
		return errors.New("bench run: workloads returned errors or wrong answers")
	}
	return nil
}
