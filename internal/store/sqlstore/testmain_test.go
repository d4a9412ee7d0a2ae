package sqlstore_test

import (
	"os"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
)

// TestMain stops the private PostgreSQL cluster pgtest may have started.
// It is the package's only TestMain: other test files of sqlstore (either
// package sqlstore or sqlstore_test) share it.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}
