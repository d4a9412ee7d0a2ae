package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A cpuMeter reads the CPU time (user plus system) the measured server has
// used so far. A series' server CPU per operation is the meter's advance
// over the measured window divided by the operations in it.
type cpuMeter struct {
	// source says whose CPU it is, for the report.
	source string
	self   bool
	read   func(ctx context.Context) (time.Duration, error)
}

// server reports whether the meter sees the server apart from the load
// generator.
func (m *cpuMeter) server() bool { return !m.self }

// selfCPU meters this process: with an in-process server that includes
// the load generator, so it overstates the server's share.
func selfCPU() cpuMeter {
	return cpuMeter{source: "this process (server and load generator)", self: true, read: func(context.Context) (time.Duration, error) {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return 0, err
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
	}}
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times; it is 100
// on every Linux architecture Go supports.
const clockTicks = 100

// pidCPU meters another process of this machine through /proc.
func pidCPU(pid int) cpuMeter {
	return cpuMeter{source: fmt.Sprintf("the server process (pid %d)", pid), read: func(context.Context) (time.Duration, error) {
		return procCPU(pid)
	}}
}

// procCPU reads utime plus stime of pid from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count the fields after its closing parenthesis, where state is
	// field 3, utime field 14 and stime field 15.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// metricsCPU meters a server through process_cpu_seconds_total of its
// metrics endpoint.
func (r *runner) metricsCPU() cpuMeter {
	return cpuMeter{source: "the server's process_cpu_seconds_total (--metrics-url)", read: func(ctx context.Context) (time.Duration, error) {
		v, err := r.metric(ctx, "process_cpu_seconds_total")
		return time.Duration(v * float64(time.Second)), err
	}}
}

// metric reads one unlabelled figure from the server's metrics
// (--metrics-url: the server's --metrics-addr).
func (r *runner) metric(ctx context.Context, name string) (float64, error) {
	if r.opts.MetricsURL == "" {
		return 0, fmt.Errorf("with --url, pass --metrics-url (the server's --metrics-addr)")
	}
	code, _, b, err := r.do(ctx, request{method: http.MethodGet, url: r.opts.MetricsURL})
	if err != nil || code != 200 {
		return 0, fmt.Errorf("metrics: status %d: %v", code, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("metrics: no %s", name)
}

// startChild starts the server as a child process (opts.ServerCommand
// with --db, --addr and JSON logs at level error), waits until it answers
// and returns its URL. Its error log lines count as server errors, as the
// in-process server's do; it is stopped when the run ends.
func (r *runner) startChild(ctx context.Context) (string, *os.Process, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	argv := append(append([]string(nil), r.opts.ServerCommand...),
		"--db", r.opts.DSN, "--addr", addr, "--log-format", "json", "--log-level", "error")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start the server: %w", err)
	}
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		r.srvLog.scanJSON(stderr)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	r.stops = append(r.stops, func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		<-logged
	})
	base := "http://" + addr
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, _, _, err := r.do(ctx, request{method: http.MethodGet, url: base + "/healthz"})
		if err == nil && code == http.StatusOK {
			return base, cmd.Process, nil
		}
		select {
		case err := <-exited:
			exited <- err
			return "", nil, fmt.Errorf("the server exited before answering: %v", err)
		case <-ctx.Done():
			return "", nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return "", nil, errors.New("the server did not answer /healthz within 2 minutes")
		}
	}
}

// scanJSON counts the error lines of a JSON log (slog's JSON handler) as
// Handle does.
func (h *errorLog) scanJSON(rd io.Reader) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		if line["level"] != "ERROR" {
			continue
		}
		msg, _ := line["msg"].(string)
		user, _ := line["user"].(string)
		h.record(msg, user, sc.Text())
	}
}
