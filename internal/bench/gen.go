package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/worldgen"
)

// GenOptions configure Generate.
type GenOptions struct {
	Size Size
	Seed uint64
	// Epoch is the "today" of the dataset (a UTC date): record dates span
	// the three years before it, days_back and validity are relative to
	// it. The zero value means today. Equal size, seed and epoch give equal
	// data.
	Epoch time.Time
	// Progress receives the progress bar (nil: none); Terminal selects the
	// redrawn bar over plain lines.
	Progress io.Writer
	Terminal bool
}

// batchSize is the number of records per store.Batch.
const batchSize = store.MaxBatch

// entityBatch is the number of accounts, users, memberships or grants
// written in one transaction (store.Atomic): one commit, one revision and
// one follower catch-up for the lot instead of one per entity, each write
// still audited on its own.
const entityBatch = 2000

// accountBatch is the number of accounts written in one transaction. An
// account with external access also creates its group and the group's
// grant, three changed keys in all, and the store's follower reloads the
// whole access model instead of applying a commit's changes when they
// exceed 2,000 keys (sqlstore's reloadThreshold): with 2,000 accounts a
// transaction every commit reloaded every account written so far, which
// made the accounts of large take 2:39 of the generation. 600 accounts
// are at most 1,800 keys.
const accountBatch = 600

// inBatches calls write(ctx, i) for i in [0, n), size of them per
// store.Atomic scope, and adds each to the progress bar.
func inBatches(ctx context.Context, st store.Store, pb *progress, n, size int, write func(ctx context.Context, i int) error) error {
	for from := 0; from < n; from += size {
		to := min(n, from+size)
		if _, err := st.Atomic(ctx, store.Write{Actor: "system:bench"}, func(ctx context.Context) error {
			for i := from; i < to; i++ {
				if err := write(ctx, i); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		pb.add(to - from)
	}
	return nil
}

// Generate writes the dataset of opts into st, which must hold no users
// yet (a fresh database), and saves its Meta in the bench_meta table. It
// writes accounts, users, memberships and grants through the store's
// ordinary methods, entityBatch (accounts accountBatch) to a transaction
// (store.Atomic), and the
// records through the store's bulk load of a fresh database
// (recordLoader: sqlstore's LoadRecords), 10,000 to a chunk.
// eng is the access engine kept in step with st (package follow).
func Generate(ctx context.Context, st MetaStore, eng *access.Engine, opts GenOptions) (*Meta, error) {
	if err := opts.Size.Validate(); err != nil {
		return nil, err
	}
	users, _, err := st.ListUsers(ctx, store.UserFilter{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(users) > 0 {
		return nil, errors.New("the database already holds users: generate into a fresh database")
	}
	epoch := opts.Epoch
	if epoch.IsZero() {
		epoch = time.Now()
	}
	y, mo, d := epoch.UTC().Date()
	epoch = time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	start := time.Now()

	m := worldgen.NewModel(opts.Size, opts.Seed, epoch)
	sum := sha256.New()
	meta := &Meta{Version: metaVersion, Size: opts.Size, Seed: opts.Seed, Epoch: epoch.Format(time.DateOnly),
		Backend: backendName(st), AdminUser: AdminUser, AdminEmail: "admin@bench.example", AdminPassword: AdminPassword,
		UserPassword: UserPassword, RevokeUser: UserRevoke, RevokeKeep: worldgen.RevokeKeep, RevokeAccount: worldgen.RevokeAccount}
	pb := newProgress(opts.Progress, opts.Terminal)

	// Accounts: parents come first in m.Accounts. Switching external access
	// on makes the store create the account group and its default grant.
	pb.start("accounts", len(m.Accounts))
	if err := inBatches(ctx, st, pb, len(m.Accounts), accountBatch, func(ctx context.Context, i int) error {
		a := m.Accounts[i]
		if _, _, err := st.PutAccount(ctx, store.Write{Actor: "system:bench"}, a); err != nil {
			return fmt.Errorf("account %s: %w", a.ID, err)
		}
		writeSum(sum, "account", a)
		return nil
	}); err != nil {
		return nil, err
	}
	pb.done()

	admin := access.User{ID: AdminUser, Kind: access.KindInternal, Name: "Bench admin", Email: meta.AdminEmail,
		Status: access.StatusActive, StaffRole: access.StaffAdmin}
	all := append([]access.User{admin}, m.Users...)
	pb.start("users", len(all))
	if err := inBatches(ctx, st, pb, len(all), entityBatch, func(ctx context.Context, i int) error {
		u := all[i]
		if _, _, err := st.PutUser(ctx, store.Write{Actor: "system:bench"}, u); err != nil {
			return fmt.Errorf("user %s: %w", u.ID, err)
		}
		writeSum(sum, "user", u)
		return nil
	}); err != nil {
		return nil, err
	}
	pb.done()
	// Only the admin and the named users can sign in.
	for _, p := range []struct{ user, pw string }{{AdminUser, AdminPassword}, {UserSingle, UserPassword},
		{UserDistributor, UserPassword}, {UserMulti, UserPassword}, {UserKey, UserPassword}, {UserRevoke, UserPassword}} {
		h, err := auth.HashPassword(p.pw)
		if err != nil {
			return nil, err
		}
		if _, err := st.SetPassword(ctx, store.Write{Actor: "system:bench"}, p.user, h); err != nil {
			return nil, fmt.Errorf("password of %s: %w", p.user, err)
		}
	}

	pb.start("members", len(m.Members))
	if err := inBatches(ctx, st, pb, len(m.Members), entityBatch, func(ctx context.Context, i int) error {
		mb := m.Members[i]
		if _, err := st.AddMember(ctx, store.Write{Actor: "system:bench"}, mb[0], mb[1]); err != nil {
			return fmt.Errorf("member %s of %s: %w", mb[1], mb[0], err)
		}
		writeSum(sum, "member", mb)
		return nil
	}); err != nil {
		return nil, err
	}
	pb.done()

	pb.start("grants", len(m.Grants))
	if err := inBatches(ctx, st, pb, len(m.Grants), entityBatch, func(ctx context.Context, i int) error {
		g := m.Grants[i]
		if _, _, err := st.CreateGrant(ctx, store.Write{Actor: "system:bench"}, g); err != nil {
			return fmt.Errorf("grant %s on %s: %w", g.Principal, g.Account, err)
		}
		writeSum(sum, "grant", g)
		return nil
	}); err != nil {
		return nil, err
	}
	pb.done()

	classes := map[string]*OrderCount{}
	for _, u := range []string{UserSingle, UserDistributor, UserMulti, UserKey} {
		classes[u] = &OrderCount{reach: m.Reach(u), ByDay: map[string]int{}}
	}
	rg := newRecordGen(m, opts.Seed, classes)
	if err := writeRecords(ctx, st, rg, sum, pb); err != nil {
		return nil, err
	}

	_, secret, _, err := app.New(st, eng, app.Config{}).CreateToken(ctx, app.SystemActor("bench"), app.TokenRequest{User: AdminUser, Name: "bench"})
	if err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	meta.AdminToken = secret
	meta.Classes = []Class{
		classOf("single", UserSingle, "single customer, L30", m, classes),
		classOf("distributor", UserDistributor, "distributor with 100 stores, L30", m, classes),
		classOf("multi", UserMulti, "50 customers, L30, a third with days_back 365", m, classes),
		classOf("key", UserKey, fmt.Sprintf("key account owning %d orders, L30", opts.Size.KeyOrders), m, classes),
	}
	groupGrants := 0
	for _, a := range m.Accounts {
		if a.ExternalAccess {
			groupGrants++
		}
	}
	meta.Counts = Counts{Accounts: len(m.Accounts), Users: len(all), Members: len(m.Members),
		DirectGrants: len(m.Grants), GroupGrants: groupGrants, MultiUsers: m.MultiUsers,
		Records: opts.Size.Records, SalesOrders: rg.sold}
	meta.Checksum = hex.EncodeToString(sum.Sum(nil))
	meta.GenSeconds = time.Since(start).Seconds()
	if err := SaveMeta(ctx, st, meta); err != nil {
		return nil, err
	}
	return meta, nil
}

// writeRecords writes the records of rg in batches while the next batch
// is generated.
func writeRecords(ctx context.Context, st store.Store, rg *recordGen, sum hash.Hash, pb *progress) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []*access.Record, 2)
	go func() {
		defer close(batches)
		var buf []byte
		for {
			b := rg.next(make([]*access.Record, 0, batchSize), batchSize)
			if len(b) == 0 {
				return
			}
			buf = recordSum(sum, b, buf)
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	pb.start("records", rg.n)
	next := func() ([]*access.Record, error) {
		b, ok := <-batches
		if !ok {
			return nil, io.EOF
		}
		pb.add(len(b))
		return b, nil
	}
	if l, ok := st.(recordLoader); ok {
		if _, err := l.LoadRecords(ctx, store.Write{}, next); err != nil {
			return fmt.Errorf("records load: %w", err)
		}
		pb.done()
		return ctx.Err()
	}
	if rg.n <= importRecordsMax {
		// One import: its transaction builds the secondary indexes once,
		// sorted, instead of inserting into them row by row.
		if _, err := st.ImportRecords(ctx, store.Write{}, next); err != nil {
			return fmt.Errorf("records import: %w", err)
		}
		pb.done()
		return ctx.Err()
	}
	for b := range batches {
		if _, err := st.Batch(ctx, store.Write{}, store.RecordBatch{Upsert: b}); err != nil {
			return fmt.Errorf("records batch at %s: %w", b[0].ID, err)
		}
		pb.add(len(b))
	}
	pb.done()
	return ctx.Err()
}

// recordLoader is the bulk load of records into a fresh database
// (*sqlstore.Store): secondary indexes built once at the end, the search
// index filled a chunk at a time, a commit about every million records.
// A store without it gets one import (up to importRecordsMax records) or
// store.Batch after store.Batch.
type recordLoader interface {
	LoadRecords(ctx context.Context, w store.Write, next func() ([]*access.Record, error)) (store.BatchResult, error)
}

// importRecordsMax is the most records generation writes in one
// transaction (store.ImportRecords); larger datasets go a batch at a time,
// so that the write-ahead log does not grow to the size of the database.
const importRecordsMax = 2_000_000

func classOf(name, user, desc string, m *worldgen.Model, classes map[string]*OrderCount) Class {
	c := classes[user]
	var grants []string
	for _, g := range m.Grants {
		if g.Principal == "user:"+user {
			grants = append(grants, g.Account)
		}
	}
	return Class{Name: name, User: user, Email: user + "@bench.example", Description: desc,
		GrantAccounts: grants, Reach: len(c.reach), Orders: *c}
}
