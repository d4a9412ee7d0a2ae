package server_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayers holds the packages to the layout of docs/architecture.md: the
// use cases know nothing of HTTP, no surface imports another or the
// server, and the command line calls no HTTP handler package but the
// server itself.
func TestLayers(t *testing.T) {
	const mod = "github.com/portcullis-dev/portcullis/"
	list := func(t *testing.T, args ...string) map[string][]string {
		t.Helper()
		out, err := exec.Command("go", append([]string{"list"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %v: %v\n%s", args, err, out)
		}
		deps := map[string][]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			pkg, imports, _ := strings.Cut(line, " ")
			deps[pkg] = strings.Fields(imports)
		}
		return deps
	}
	t.Run("AppWithoutHTTP", func(t *testing.T) {
		for pkg, deps := range list(t, "-deps", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", mod+"internal/app") {
			if pkg != mod+"internal/app" {
				continue
			}
			for _, d := range deps {
				if d == "net/http" || strings.HasPrefix(d, mod+"internal/server") {
					t.Errorf("internal/app depends on %s", d)
				}
			}
		}
	})
	t.Run("SurfacesApart", func(t *testing.T) {
		surfaces := []string{"api", "portal", "admin", "authzen", "sso", "scim"}
		imports := list(t, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"internal/server/...")
		for _, s := range surfaces {
			pkg := mod + "internal/server/" + s
			got, ok := imports[pkg]
			if !ok {
				t.Fatalf("no package %s", pkg)
			}
			for _, imp := range got {
				rest, ok := strings.CutPrefix(imp, mod+"internal/server")
				if !ok {
					continue
				}
				if rest != "/surface" && rest != "/render" {
					t.Errorf("%s imports %s", pkg, imp)
				}
			}
		}
	})
}
