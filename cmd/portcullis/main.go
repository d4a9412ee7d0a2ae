// Command portcullis runs the Portcullis external access server and its
// tools. Every flag also reads a PORTCULLIS_* environment variable (--db ↔
// PORTCULLIS_DB, --addr ↔ PORTCULLIS_ADDR, ...); a flag on the command line
// wins over the environment.
package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/demo"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `Portcullis: an external access server.

Usage:
  portcullis serve      [flags]           run the server
  portcullis demo       [flags]           run the server on a demo dataset
  portcullis migrate    [--db DSN]        apply database migrations
  portcullis policy check FILE            validate a policy document
  portcullis policy apply FILE [--db DSN] store a policy document as the new version
  portcullis token create --user ID --name NAME [--db DSN]
                                          create an API token (shown once)
  portcullis import --kind accounts|users|grants|records [--type T] FILE [--db DSN]
                                          import a CSV or NDJSON file, all or nothing
  portcullis backup FILE [--db DSN]       copy a SQLite database (PostgreSQL: use pg_dump)
  portcullis audit verify [--db DSN] [--expect-head HASH] [--audit-key KEY]
                                          check the audit log's hash chain
  portcullis bench gen --size small|medium|large [--seed N] [--epoch YYYY-MM-DD] [--db DSN] [--cpuprofile FILE]
                                          generate the benchmark dataset into a fresh database
  portcullis bench run [--db DSN] [--workload a,b] [--duration 30s] [--url URL [--metrics-url URL] | --in-process] [--json FILE] [--cpuprofile DIR]
                                          measure the workloads of shared/BENCHMARKS.md
  portcullis bench compare A.json B.json  print the ratio of every figure of two reports
  portcullis version                      print the version

Run "portcullis COMMAND --help" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, errHelp) {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(os.Stderr, "portcullis: %v\n\n%s", err, usage)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "portcullis: %v\n", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr, false)
	case "demo":
		return serve(ctx, rest, stdout, stderr, true)
	case "migrate":
		fs, db := dbFlags("migrate")
		if err := parse(fs, rest, 0); err != nil {
			return err
		}
		if err := sqlstore.Migrate(ctx, *db); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	case "policy":
		return policyCmd(ctx, rest, stdout)
	case "token":
		return tokenCmd(ctx, rest, stdout)
	case "backup":
		return backupCmd(ctx, rest, stdout)
	case "import":
		return importCmd(ctx, rest, stdout)
	case "audit":
		if len(rest) == 0 || rest[0] != "verify" {
			return usageError{"audit: the only subcommand is verify"}
		}
		return auditVerifyCmd(ctx, rest[1:], stdout)
	case "bench":
		return benchCmd(ctx, rest, stdout)
	case "version", "--version":
		fmt.Fprintln(stdout, "portcullis", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// envDefault returns the PORTCULLIS_* variable for a flag, or def.
func envDefault(flagName, def string) string {
	if v, ok := os.LookupEnv("PORTCULLIS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))); ok {
		return v
	}
	return def
}

// mfaBox checks --staff-mfa and returns the SecretBox of --mfa-key.
func mfaBox(staffMFA, key string) (*auth.SecretBox, error) {
	if staffMFA != app.StaffMFARequired && staffMFA != app.StaffMFAOptional {
		return nil, fmt.Errorf("--staff-mfa must be required or optional, not %q", staffMFA)
	}
	k, err := auth.ParseSecretBoxKey(key)
	if err != nil {
		return nil, fmt.Errorf("--mfa-key: %w", err)
	}
	return auth.NewSecretBox(k)
}

// formKeyOf derives the key that seals forms kept across a sign-in
// (server.Config.FormKey) from --mfa-key, which every node of a
// deployment shares; without one each node has a random key of its own.
func formKeyOf(mfaKey string) ([]byte, error) {
	if mfaKey == "" {
		return nil, nil
	}
	k, err := auth.ParseSecretBoxKey(mfaKey)
	if err != nil {
		return nil, fmt.Errorf("--mfa-key: %w", err)
	}
	return hkdf.Key(sha256.New, k, nil, "portcullis form resume", 32)
}

// parseSize reads a byte count: a whole number, optionally with a unit
// (KB, MB, GB powers of 1000; KiB, MiB, GiB powers of 1024).
func parseSize(v string) (int64, error) {
	v = strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a positive size like 25MiB", v)
	}
	return n * mult, nil
}

// stringFlag defines a flag whose default comes from the environment.
func stringFlag(fs *flag.FlagSet, name, def, help string) *string {
	env := "PORTCULLIS_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	return fs.String(name, envDefault(name, def), help+" ($"+env+")")
}

func durationFlag(fs *flag.FlagSet, name string, def time.Duration, help string) *time.Duration {
	env := "PORTCULLIS_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if v, ok := os.LookupEnv(env); ok {
		if d, err := time.ParseDuration(v); err == nil {
			def = d
		}
	}
	return fs.Duration(name, def, help+" ($"+env+")")
}

func dbFlags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	db := stringFlag(fs, "db", "./portcullis.db", "database: a SQLite file path, or a postgres:// URL")
	return fs, db
}

// parse parses flags, before or after the positional arguments, and
// checks their number; the positional arguments are then fs.Args().
func parse(fs *flag.FlagSet, args []string, positional int) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return errHelp
			}
			return usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != positional {
		return usageError{fmt.Sprintf("%s: expected %d argument(s), got %d", fs.Name(), positional, len(pos))}
	}
	_ = fs.Parse(append([]string{"--"}, pos...)) // make fs.Arg(i) the positional arguments
	return nil
}

// errHelp ends a command after its --help was printed.
var errHelp = errors.New("help shown")

func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Sprintf("--log-level %q: use debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Sprintf("--log-format %q: use text or json", format)}
}

// serve runs the server until ctx ends (SIGTERM, SIGINT), then drains
// in-flight requests for up to 10 s.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, withDemo bool) error {
	name := "serve"
	if withDemo {
		name = "demo"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	dbDefault := "./portcullis.db"
	if withDemo {
		dbDefault = ""
	}
	db := stringFlag(fs, "db", dbDefault, "database: a SQLite file path, or a postgres:// URL (demo: a fresh temporary SQLite file)")
	addr := stringFlag(fs, "addr", "127.0.0.1:8080", "address to listen on")
	logFormat := stringFlag(fs, "log-format", "text", "log format: text or json")
	logLevel := stringFlag(fs, "log-level", "info", "log level: debug, info, warn, error")
	idle := durationFlag(fs, "session-idle", auth.DefaultIdleTimeout, "sessions end after this long without a request")
	maxAge := durationFlag(fs, "session-max-age", auth.DefaultMaxAge, "sessions end this long after sign-in")
	staffMFA := stringFlag(fs, "staff-mfa", app.StaffMFAOptional, "two-factor authentication for internal users: required or optional")
	mfaKey := stringFlag(fs, "mfa-key", "", "32-byte key (64 hex digits or base64) that encrypts TOTP secrets at rest; empty stores them unencrypted")
	mf := defineMailFlags(fs)
	trusted := stringFlag(fs, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed")
	tlsCert := stringFlag(fs, "tls-cert", "", "serve HTTPS directly with this certificate (PEM; with --tls-key; turns HSTS on)")
	tlsKey := stringFlag(fs, "tls-key", "", "the private key of --tls-cert (PEM)")
	auditKey := auditKeyFlag(fs)
	metricsAddr := stringFlag(fs, "metrics-addr", "", "serve Prometheus metrics at /metrics on this address (not served when empty; never on --addr)")
	supplierName := stringFlag(fs, "supplier-name", app.DefaultSupplierName, "how customers see staff authors of comments and files, e.g. \"Northwind support\"")
	maxFileSize := stringFlag(fs, "max-file-size", "25MiB", "the largest file attached to a record: bytes, or with KB, MB, KiB, MiB, GiB")
	gcHeadroom := stringFlag(fs, "gc-headroom", "256MiB", "heap growth allowed between garbage collections (GOGC 100 to 800 from the live heap, and a soft memory limit; 0: the Go runtime's own pacing, as when GOGC or GOMEMLIMIT is set)")
	defaultLocale := stringFlag(fs, "default-locale", access.LocaleDefault, "language of the pages when neither the user nor the browser names one: en, de or zh")
	bf := defineBrandFlags(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if !slices.Contains(access.Locales, *defaultLocale) {
		return usageError{"--default-locale: want one of " + strings.Join(access.Locales, ", ")}
	}
	proxies, err := server.ParseTrustedProxies(*trusted)
	if err != nil {
		return usageError{err.Error()}
	}
	fileLimit, err := parseSize(*maxFileSize)
	if err != nil {
		return usageError{"--max-file-size: " + err.Error()}
	}
	var headroom int64
	if strings.TrimSpace(*gcHeadroom) != "0" {
		if headroom, err = parseSize(*gcHeadroom); err != nil {
			return usageError{"--gc-headroom: " + err.Error()}
		}
	}
	brand, mailBrand, err := bf.setup(strings.TrimRight(*mf.publicURL, "/"))
	if err != nil {
		return err
	}
	if withDemo && *supplierName == app.DefaultSupplierName {
		*supplierName = "Northwind support"
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usageError{"--tls-cert and --tls-key go together"}
	}
	log, err := newLogger(*logFormat, *logLevel, stderr)
	if err != nil {
		return err
	}
	mfaSecrets, err := mfaBox(*staffMFA, *mfaKey)
	if err != nil {
		return err
	}
	if !mfaSecrets.Keyed() && !withDemo {
		log.Warn("no --mfa-key: TOTP secrets are stored unencrypted in the database")
	}
	formKey, err := formKeyOf(*mfaKey)
	if err != nil {
		return err
	}
	ak, err := parseAuditKey(*auditKey)
	if err != nil {
		return usageError{err.Error()}
	}
	dsn := *db
	if withDemo && dsn == "" {
		dir, err := os.MkdirTemp("", "portcullis-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dsn = dir + "/demo.db"
	}
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Logger: log, AuditKey: ak})
	if err != nil {
		return err
	}
	defer st.Close()
	defer startHeadLogger(st, log, auditHeadEvery).Stop() // after the requests drained, before the store closes
	f, err := follow.Start(ctx, st, follow.Options{Logger: log})
	if err != nil {
		return err
	}
	defer f.Close()
	eng := f.Engine()
	// After the engine's load, whose allocations the runtime's default
	// paces: the tuner's first reading is then the engine's live heap.
	defer startGCTuner(headroom)()

	var logins []demo.Login
	if withDemo {
		users, _, err := st.ListUsers(ctx, store.UserFilter{Limit: 1})
		if err != nil {
			return err
		}
		if len(users) == 0 {
			if logins, err = demo.Seed(ctx, st, eng, time.Now()); err != nil {
				return fmt.Errorf("demo data: %w", err)
			}
		}
	}
	mailCfg, sender, err := mf.setup(st, *addr, log)
	if err != nil {
		return err
	}
	mailCfg.Brand = mailBrand
	srv := server.New(st, eng, server.Config{Logger: log, Version: version, Sessions: auth.SessionPolicy{IdleTimeout: *idle, MaxAge: *maxAge},
		PublicURL: strings.TrimRight(*mf.publicURL, "/"), TrustedProxies: proxies, MFASecrets: mfaSecrets, StaffMFA: *staffMFA, Mail: mailCfg,
		Conversation: app.ConversationConfig{SupplierName: *supplierName, MaxFileSize: fileLimit}, DefaultLocale: *defaultLocale,
		Brand: brand, FormKey: formKey})
	if len(logins) > 0 {
		if err := demoInvitation(ctx, srv.App()); err != nil {
			return fmt.Errorf("demo invitation: %w", err)
		}
	}
	if sender != nil {
		sender.Start()
		defer sender.Stop() // before the store closes
	}
	defer startReviewLoop(srv.App(), log, reviewEvery).Stop() // before the store closes
	created, generated, err := srv.App().Bootstrap(ctx, os.Getenv("PORTCULLIS_ADMIN_EMAIL"), os.Getenv("PORTCULLIS_ADMIN_PASSWORD"))
	if err != nil {
		return err
	}
	if created && generated != "" {
		u, _ := eng.User("admin")
		fmt.Fprintf(stdout, "Created the first admin %s with the password %s (shown once; change it after signing in).\n", u.Email, generated)
	}
	srv.Registry().MustRegister(st.Collectors()...)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	if withDemo {
		printLogins(stdout, url, *db == "", logins)
		fmt.Fprint(stdout, outboxNote(url, sender != nil))
	}
	log.Info("listening", "addr", ln.Addr().String(), "tls", *tlsCert != "", "db", sqlstore.RedactDSN(dsn), "version", version)
	errc := make(chan error, 2)
	go func() {
		if *tlsCert != "" {
			errc <- hs.ServeTLS(ln, *tlsCert, *tlsKey)
			return
		}
		errc <- hs.Serve(ln)
	}()
	var ms *http.Server
	if *metricsAddr != "" {
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			_ = hs.Close()
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		ms = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		log.Info("serving metrics", "addr", mln.Addr().String())
		go func() { errc <- ms.Serve(mln) }()
	}
	select {
	case err := <-errc:
		_ = hs.Close()
		if ms != nil {
			_ = ms.Close()
		}
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ms != nil {
		_ = ms.Shutdown(sctx)
	}
	return hs.Shutdown(sctx)
}

func printLogins(w io.Writer, url string, temporary bool, logins []demo.Login) {
	fmt.Fprintf(w, "\nPortcullis demo at %s (the portal) and %s/admin (the console)\n", url, url)
	if temporary {
		fmt.Fprintf(w, "Its database is a temporary file, deleted when the demo stops (Ctrl-C); --db FILE keeps one.\n")
	}
	fmt.Fprintln(w)
	if len(logins) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tPASSWORD\tSHOWS")
	for _, l := range logins {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Email, l.Password, l.Shows)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func policyCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "check" && args[0] != "apply") {
		return usageError{"policy: use check FILE or apply FILE"}
	}
	fs, db := dbFlags("policy " + args[0])
	if err := parse(fs, args[1:], 1); err != nil {
		return err
	}
	src, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	doc, err := policy.Parse(src)
	if err != nil {
		return err
	}
	pol, err := policy.Compile(doc)
	if err != nil {
		return err
	}
	if args[0] == "check" {
		fmt.Fprintf(stdout, "policy ok: %d roles, %d object types\n", len(pol.Roles()), len(pol.Types()))
		return nil
	}
	a, closeApp, err := openApp(ctx, *db)
	if err != nil {
		return err
	}
	defer closeApp()
	pv, _, err := a.PutPolicy(ctx, app.SystemActor("cli"), src)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "policy version %d applied\n", pv.Version)
	return nil
}

func tokenCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"token: the only subcommand is create"}
	}
	fs, db := dbFlags("token create")
	user := fs.String("user", "", "the internal user the token acts as")
	name := fs.String("name", "", "a name to recognize the token by")
	if err := parse(fs, args[1:], 0); err != nil {
		return err
	}
	if *user == "" || *name == "" {
		return usageError{"token create needs --user and --name"}
	}
	a, closeApp, err := openApp(ctx, *db)
	if err != nil {
		return err
	}
	defer closeApp()
	tok, secret, _, err := a.CreateToken(ctx, app.SystemActor("cli"), app.TokenRequest{User: *user, Name: *name})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "token %s for %s (shown once; store it safely):\n%s\n", tok.ID, tok.UserID, secret)
	return nil
}

func backupCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := dbFlags("backup")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	if sqlstore.IsPostgres(*db) {
		return errors.New("backup copies SQLite databases; for PostgreSQL use pg_dump")
	}
	st, err := sqlstore.Open(ctx, *db, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s\n", fs.Arg(0))
	return nil
}

// openApp opens the database dsn with its engine and returns the use cases
// over them, for the one-shot commands; closeApp releases both.
// Their audit entries are keyed with PORTCULLIS_AUDIT_KEY, as serve's.
func openApp(ctx context.Context, dsn string) (a *app.App, closeApp func(), err error) {
	a, _, closeApp, err = openAppStore(ctx, dsn)
	return a, closeApp, err
}

// openAppStore is openApp that also returns the store.
func openAppStore(ctx context.Context, dsn string) (a *app.App, st *sqlstore.Store, closeApp func(), err error) {
	key, err := parseAuditKey(envDefault("audit-key", ""))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("PORTCULLIS_AUDIT_KEY: %w", err)
	}
	// No indexer behind the writes: a one-shot command ends at once, and
	// the import writes the search backlog it leaves itself.
	st, err = sqlstore.Open(ctx, dsn, sqlstore.Options{AuditKey: key, NoIndexer: true})
	if err != nil {
		return nil, nil, nil, err
	}
	f, err := follow.Start(ctx, st, follow.Options{})
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return app.New(st, f.Engine(), app.Config{}), st, func() { f.Close(); st.Close() }, nil
}
