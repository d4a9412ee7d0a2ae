package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The policy is stored as versions (policy_versions): the source text as
// the administrator wrote it, numbered 1, 2, 3... The newest is current.
// With no stored version the built-in default (policy.Default) is current
// and reported as version 0.

// compiled returns the compiled policy of a stored version, compiling it
// once per store.
func (s *Store) compiled(version int, source string) (*policy.Policy, error) {
	if version == 0 {
		return policy.Default(), nil
	}
	s.polMu.Lock()
	defer s.polMu.Unlock()
	if c, ok := s.policies[version]; ok && c.source == source {
		return c.p, nil
	}
	d, err := policy.Parse([]byte(source))
	if err != nil {
		return nil, fmt.Errorf("policy version %d: %w", version, err)
	}
	p, err := policy.Compile(d)
	if err != nil {
		return nil, fmt.Errorf("policy version %d: %w", version, err)
	}
	s.policies[version] = cachedPolicy{source, p}
	return p, nil
}

// cachedPolicy is a compiled version with the source it was compiled from
// (a rolled-back PutPolicy may have cached another source under the same
// number).
type cachedPolicy struct {
	source string
	p      *policy.Policy
}

// defaultVersion is the built-in policy as version 0.
func defaultVersion() store.PolicyVersion {
	return store.PolicyVersion{Version: 0, Source: string(policy.DefaultYAML()), Policy: policy.Default()}
}

// policy reads the current policy version, compiled.
func (r reader) policy() (store.PolicyVersion, error) {
	var v store.PolicyVersion
	var at int64
	err := r.queryRow(`SELECT version, source, created_by, created_at FROM policy_versions ORDER BY version DESC LIMIT 1`).
		Scan(&v.Version, &v.Source, &v.CreatedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return defaultVersion(), nil
	}
	if err != nil {
		return v, fmt.Errorf("read policy: %w", err)
	}
	v.CreatedAt = fromMicros(at)
	if v.Policy, err = r.s.compiled(v.Version, v.Source); err != nil {
		return v, err
	}
	return v, nil
}

// Policy returns the current policy version, compiled: the newest stored
// one, or the built-in default as version 0.
func (s *Store) Policy(ctx context.Context) (store.PolicyVersion, error) {
	return s.pool(ctx).policy()
}

// PolicyVersions lists the stored policy versions, newest first, without
// their compiled form. With none stored it lists the built-in default as
// version 0.
func (s *Store) PolicyVersions(ctx context.Context) ([]store.PolicyVersion, error) {
	rows, err := s.query(ctx, `SELECT version, source, created_by, created_at FROM policy_versions ORDER BY version DESC`)
	if err != nil {
		return nil, fmt.Errorf("list policy versions: %w", err)
	}
	defer rows.Close()
	var out []store.PolicyVersion
	for rows.Next() {
		var v store.PolicyVersion
		var at int64
		if err := rows.Scan(&v.Version, &v.Source, &v.CreatedBy, &at); err != nil {
			return nil, fmt.Errorf("list policy versions: %w", err)
		}
		v.CreatedAt = fromMicros(at)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list policy versions: %w", err)
	}
	if len(out) == 0 {
		v := defaultVersion()
		v.Policy = nil
		out = append(out, v)
	}
	return out, nil
}

// PutPolicy parses and compiles source (invalid, with every validation
// problem in the message, when it does not), stores it as the next version
// and makes it current. It fails with conflict when the new policy lacks a
// role some grant uses, or keeps a protected role but unprotects it. (A
// protected default_group_role is a validation error.)
func (s *Store) PutPolicy(ctx context.Context, w store.Write, source []byte) (store.PolicyVersion, int64, error) {
	actor := w.Actor
	d, err := policy.Parse(source)
	if err != nil {
		return store.PolicyVersion{}, 0, invalid("%s", err.Error())
	}
	p, err := policy.Compile(d)
	if err != nil {
		return store.PolicyVersion{}, 0, invalid("%s", err.Error())
	}
	var out store.PolicyVersion
	rev, err := s.write(ctx, w, func(t *wtx) error {
		r := t.reader()
		old, err := r.policy()
		if err != nil {
			return err
		}
		// grants_role serves the roles in use.
		used, err := r.strings(`SELECT DISTINCT role FROM grants ORDER BY role`)
		if err != nil {
			return fmt.Errorf("put policy: %w", err)
		}
		for _, role := range used {
			if p.Role(role) == nil {
				return conflict("role %s is used by grants and cannot be removed", role)
			}
		}
		for _, or := range old.Policy.Roles() {
			if nr := p.Role(or.Name); or.Protected && nr != nil && !nr.Protected {
				return conflict("role %s is protected and cannot be unprotected", or.Name)
			}
		}
		out = store.PolicyVersion{Version: old.Version + 1, Source: string(source), CreatedBy: w.Creator(), CreatedAt: t.now, Policy: p}
		if _, err := t.exec(`INSERT INTO policy_versions (version, source, created_by, created_at) VALUES (?, ?, ?, ?)`,
			out.Version, out.Source, out.CreatedBy, toMicros(out.CreatedAt)); err != nil {
			return fmt.Errorf("put policy: %w", err)
		}
		s.polMu.Lock()
		s.policies[out.Version] = cachedPolicy{out.Source, p}
		s.polMu.Unlock()
		if err := t.change("policy", "current"); err != nil {
			return err
		}
		return t.logf(actor, "policy.put", "policy",
			map[string]any{"version": old.Version},
			map[string]any{"version": out.Version, "source": out.Source})
	})
	if err != nil {
		return store.PolicyVersion{}, 0, err
	}
	return out, rev, nil
}
