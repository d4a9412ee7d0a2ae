package policy

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"
)

//go:embed default.yaml
var defaultYAML []byte

// defaultPolicy compiles the built-in policy on first use. It panics if the
// embedded document is invalid; TestDefault guarantees it is not.
var defaultPolicy = sync.OnceValue(func() *Policy {
	d, err := Parse(defaultYAML)
	if err != nil {
		panic(fmt.Sprintf("policy: built-in default: %v", err))
	}
	p, err := Compile(d)
	if err != nil {
		panic(fmt.Sprintf("policy: built-in default: %v", err))
	}
	return p
})

// Default returns the built-in policy, the ERP ladder L10–L90 of DESIGN.md,
// which serves until an administrator stores another. The Policy is shared
// and, like every Policy, immutable.
func Default() *Policy { return defaultPolicy() }

// DefaultYAML returns a copy of the source of the built-in policy, commented
// to document the format: a starting point for an administrator's own.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }
