package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/worldgen"
)

// checkData is the record metadata and the questions of the check
// workloads, loaded once per run.
type checkData struct {
	recs      []*access.Record
	src       access.RecordMap
	questions []question
	allowed   int
}

// question is one (user, record) pair with the engine's answer.
type question struct {
	user    string
	rec     *access.Record
	allowed bool
}

// checkSample is how many records the check workloads load: enough that
// users, grants and records do not all stay in the CPU caches.
const (
	checkSample    = 120_000
	checkQuestions = 1 << 16
)

// loadCheckData reads a sample of every type's records (metadata only:
// attributes are dropped) with their parents, every external user, and
// draws the questions: users uniformly, records half the time among those
// in the user's reach, then half allowed and half denied.
func (r *runner) loadCheckData(ctx context.Context) (*checkData, error) {
	if r.data != nil {
		return r.data, nil
	}
	start := time.Now()
	d := &checkData{src: access.RecordMap{}}
	all := &access.Predicate{All: true}
	for _, k := range worldgen.RecordKinds {
		want := int(float64(min(checkSample, r.meta.Counts.Records)) * k.Weight)
		cursor := ""
		for n := 0; n < want; {
			p := *all
			p.Type = k.Type
			recs, next, err := r.st.ListRecords(ctx, store.RecordQuery{Type: k.Type, Predicate: &p, Sort: "id",
				Limit: store.MaxListLimit, Cursor: cursor})
			if err != nil {
				return nil, fmt.Errorf("load %s records: %w", k.Type, err)
			}
			for _, rec := range recs {
				rec.Attributes = nil
				d.recs = append(d.recs, rec)
				d.src[access.Ref{Type: rec.Type, ID: rec.ID}] = rec
			}
			n += len(recs)
			if cursor = next; cursor == "" {
				break
			}
		}
	}
	var missing []access.Ref
	for _, rec := range d.recs {
		if rec.Parent != nil && d.src[*rec.Parent] == nil {
			missing = append(missing, *rec.Parent)
		}
	}
	for len(missing) > 0 {
		chunk := missing[:min(len(missing), 500)]
		missing = missing[len(chunk):]
		got, err := r.st.GetRecords(ctx, chunk)
		if err != nil {
			return nil, fmt.Errorf("load parents: %w", err)
		}
		for ref, rec := range got {
			rec.Attributes = nil
			d.src[ref] = rec
		}
	}

	// byAccount lists the sampled records each account owns, directly,
	// through a team entry or through the parent.
	byAccount := map[string][]int32{}
	accountsOf := func(rec *access.Record) []string {
		var out []string
		if rec.Owner != "" {
			out = append(out, rec.Owner)
		}
		for _, t := range rec.Teams {
			if a, ok := strings.CutPrefix(t.Principal, "account:"); ok {
				out = append(out, a)
			}
		}
		return out
	}
	for i, rec := range d.recs {
		accts := accountsOf(rec)
		if rec.Parent != nil {
			if p := d.src[*rec.Parent]; p != nil {
				accts = append(accts, accountsOf(p)...)
			}
		}
		for _, a := range accts {
			byAccount[a] = append(byAccount[a], int32(i))
		}
	}

	var users []string
	for cursor := ""; ; {
		us, next, err := r.st.ListUsers(ctx, store.UserFilter{Kind: access.KindExternal, Limit: store.MaxListLimit, Cursor: cursor})
		if err != nil {
			return nil, fmt.Errorf("load users: %w", err)
		}
		for _, u := range us {
			users = append(users, u.ID)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if len(users) == 0 || len(d.recs) == 0 {
		return nil, fmt.Errorf("the dataset has %d external users and %d records", len(users), len(d.recs))
	}

	eng := r.eng
	subtrees := map[string][]string{}
	subtree := func(a string) []string {
		s, ok := subtrees[a]
		if !ok {
			s = eng.Subtree(a)
			subtrees[a] = s
		}
		return s
	}
	rng := rand.New(rand.NewPCG(r.meta.Seed, 0x9e57))
	var yes, no []question
	for tries := 0; len(yes) < checkQuestions/2 || len(no) < checkQuestions/2; tries++ {
		if tries > 200*checkQuestions {
			return nil, fmt.Errorf("questions: %d allowed and %d denied after %d tries", len(yes), len(no), tries)
		}
		u := users[rng.IntN(len(users))]
		rec := d.recs[rng.IntN(len(d.recs))]
		if gs := eng.UserGrants(u); len(gs) > 0 && rng.IntN(2) == 0 {
			accts := subtree(gs[rng.IntN(len(gs))].Account)
			if len(accts) > 0 {
				if idx := byAccount[accts[rng.IntN(len(accts))]]; len(idx) > 0 {
					rec = d.recs[idx[rng.IntN(len(idx))]]
				}
			}
		}
		q := question{user: u, rec: rec, allowed: eng.Allowed(u, rec, policy.Read, d.src)}
		if q.allowed && len(yes) < checkQuestions/2 {
			yes = append(yes, q)
		} else if !q.allowed && len(no) < checkQuestions/2 {
			no = append(no, q)
		}
	}
	d.questions = append(yes, no...)
	d.allowed = len(yes)
	rng.Shuffle(len(d.questions), func(i, j int) { d.questions[i], d.questions[j] = d.questions[j], d.questions[i] })
	fmt.Fprintf(r.opts.Log, "  loaded %d records, %d users, %d questions in %.1fs\n", len(d.src), len(users),
		len(d.questions), time.Since(start).Seconds())
	r.data = d
	return d, nil
}

// checkBatch is how many decisions one timed operation of check-inproc
// makes: timing each ~1 µs decision would measure the clock.
const checkBatch = 64

// checkInproc measures engine.Allowed on one goroutine over pre-loaded
// record metadata; every answer must match the one the questions were
// drawn with.
func (r *runner) checkInproc(ctx context.Context) error {
	d, err := r.loadCheckData(ctx)
	if err != nil {
		return err
	}
	eng := r.eng
	qs := d.questions
	next := 0
	self := selfCPU()
	s, el := measure(ctx, 1, r.opts.Duration, &self, func(context.Context, int) error {
		var bad *question
		for range checkBatch {
			q := &qs[next]
			if next++; next == len(qs) {
				next = 0
			}
			if eng.Allowed(q.user, q.rec, policy.Read, d.src) != q.allowed {
				bad = q
			}
		}
		if bad != nil {
			return fmt.Errorf("%s on %s %s: allowed %v changed", bad.user, bad.rec.Type, bad.rec.ID, bad.allowed)
		}
		return nil
	})
	res := s.result("check-inproc", "decisions", el, checkBatch)
	res.P50, res.P90, res.P99, res.Max = res.P50/checkBatch, res.P90/checkBatch, res.P99/checkBatch, res.Max/checkBatch
	res.CPU /= checkBatch
	res.Figures = map[string]float64{"allowed_fraction": float64(d.allowed) / float64(len(qs))}
	res.Note = fmt.Sprintf("one goroutine; latencies and cpu are per decision, averaged over batches of %d", checkBatch)
	target := 1e6
	if r.meta.Size.Name == "small" {
		target = 2e6
	}
	res.Target = "≥ " + groupThousands(int64(target)) + "/s"
	res.Met = boolPtr(res.Rate >= target)
	r.add(res)
	return nil
}

// checkClients is the number of concurrent keep-alive clients of
// check-http.
const (
	checkClients      = 32
	checkBatchClients = 8
)

type checkReq struct {
	User   string `json:"user"`
	Action string `json:"action"`
	Type   string `json:"type"`
	ID     string `json:"id"`
}

// checkHTTP measures POST /api/v1/check with the admin's API token from 32
// keep-alive clients; every answer must match the engine's.
func (r *runner) checkHTTP(ctx context.Context) error {
	d, err := r.loadCheckData(ctx)
	if err != nil {
		return err
	}
	var next atomic.Int64
	url := r.base + "/api/v1/check"
	s, el := measure(ctx, checkClients, r.opts.Duration, r.cpu, func(ctx context.Context, _ int) error {
		q := &d.questions[int(next.Add(1))%len(d.questions)]
		var out struct {
			Allowed bool `json:"allowed"`
		}
		if _, err := r.expect(ctx, r.admin("POST", url, checkReq{q.user, "read", q.rec.Type, q.rec.ID}), 200, &out); err != nil {
			return err
		}
		if out.Allowed != q.allowed {
			return fmt.Errorf("check %s on %s %s: allowed %v, the engine says %v", q.user, q.rec.Type, q.rec.ID, out.Allowed, q.allowed)
		}
		return nil
	})
	res := s.result("check-http", "req", el, 1)
	res.Note = fmt.Sprintf("%d keep-alive clients in the same process", checkClients)
	res.Target = "≥ 25,000/s"
	res.Met = boolPtr(res.Rate >= 25_000)
	r.cpuTarget(&res, 40)
	r.add(res)
	return nil
}

// checkBatchSize is how many checks one check-batch call carries.
const checkBatchSize = 100

// checkBatch measures POST /api/v1/check:batch of 100 checks with the
// admin's API token from 8 keep-alive clients; every answer must match
// the engine's. Its rate counts decisions.
func (r *runner) checkBatchHTTP(ctx context.Context) error {
	d, err := r.loadCheckData(ctx)
	if err != nil {
		return err
	}
	var next atomic.Int64
	url := r.base + "/api/v1/check:batch"
	s, el := measure(ctx, checkBatchClients, r.opts.Duration, r.cpu, func(ctx context.Context, _ int) error {
		start := int(next.Add(checkBatchSize))
		qs := make([]*question, checkBatchSize)
		body := struct {
			Checks []checkReq `json:"checks"`
		}{Checks: make([]checkReq, checkBatchSize)}
		for i := range qs {
			qs[i] = &d.questions[(start+i)%len(d.questions)]
			body.Checks[i] = checkReq{qs[i].user, "read", qs[i].rec.Type, qs[i].rec.ID}
		}
		var out struct {
			Results []struct {
				Allowed bool `json:"allowed"`
			} `json:"results"`
		}
		if _, err := r.expect(ctx, r.admin("POST", url, body), 200, &out); err != nil {
			return err
		}
		if len(out.Results) != len(qs) {
			return fmt.Errorf("check:batch: %d results for %d checks", len(out.Results), len(qs))
		}
		for i, q := range qs {
			if out.Results[i].Allowed != q.allowed {
				return fmt.Errorf("check:batch %s on %s %s: allowed %v, the engine says %v", q.user, q.rec.Type, q.rec.ID, out.Results[i].Allowed, q.allowed)
			}
		}
		return nil
	})
	res := s.result("check-batch", "decisions", el, checkBatchSize)
	res.Note = fmt.Sprintf("%d checks per call, %d keep-alive clients; cpu µs/op is per call", checkBatchSize, checkBatchClients)
	res.Target = "≥ 500,000 decisions/s"
	res.Met = boolPtr(res.Rate >= 500_000)
	r.add(res)
	return nil
}
