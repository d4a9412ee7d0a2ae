package render

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/portcullis-dev/portcullis/internal/i18n"
	"github.com/portcullis-dev/portcullis/web"
)

// action matches a template action, strings inside it included.
var action = regexp.MustCompile(`\{\{(?:[^"}]|"(?:[^"\\]|\\.)*"|\}[^}])*\}\}`)

// tCall matches {{t "id" ...}} and (t "id") in a template.
var tCall = regexp.MustCompile(`[{(]t "((?:[^"\\]|\\.)*)"`)

var (
	comment  = regexp.MustCompile(`(?s)<!--.*?-->`)
	tag      = regexp.MustCompile(`<[^>]*>`)
	textAttr = regexp.MustCompile(`(?:aria-label|placeholder|title|alt)="([^"]*)"`)
	entity   = regexp.MustCompile(`&[a-z]+;|&#[0-9]+;`)
)

// untranslated lists the words each template shows without the catalog:
// its text outside actions and tags, and its labelling attributes.
func untranslated(src string) []string {
	s := action.ReplaceAllString(src, "\x00")
	s = comment.ReplaceAllString(s, "")
	var out []string
	for _, m := range textAttr.FindAllStringSubmatch(s, -1) {
		if hasLetter(m[1]) && !code(m[1]) {
			out = append(out, m[0])
		}
	}
	s = tag.ReplaceAllString(s, "\x00")
	s = entity.ReplaceAllString(s, "")
	for _, part := range strings.Split(s, "\x00") {
		if p := strings.TrimSpace(part); hasLetter(p) && !allowed[p] && !code(p) {
			out = append(out, p)
		}
	}
	return out
}

// allowed are texts no locale changes: the brand.
var allowed = map[string]bool{"Portcullis": true, "· Portcullis": true}

// code reports whether s is a path, a URL or a lower-case identifier
// (an OIDC claim name), which no locale changes.
func code(s string) bool {
	return !strings.Contains(s, " ") && (strings.HasPrefix(s, "/") || strings.Contains(s, "://") || strings.ToLower(s) == s)
}

func hasLetter(s string) bool { return strings.IndexFunc(s, unicode.IsLetter) >= 0 }

// templateIDs are the catalog ids the templates name.
func templateIDs(t *testing.T) map[string][]string {
	ids := map[string][]string{}
	names, _ := fs.Glob(web.Templates, "templates/*.html")
	for _, n := range names {
		b, err := fs.ReadFile(web.Templates, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tCall.FindAllStringSubmatch(string(b), -1) {
			id, err := strconv.Unquote(`"` + m[1] + `"`)
			if err != nil {
				t.Fatalf("%s: %v", n, err)
			}
			ids[id] = append(ids[id], n)
		}
	}
	return ids
}

// goIDs are the texts the page surfaces set from Go: the string literals
// given to T, page titles, navigation labels, messages, form errors and
// confirmations.
func goIDs(t *testing.T) map[string][]string {
	ids := map[string][]string{}
	fset := token.NewFileSet()
	for _, dir := range []string{".", "../portal", "../admin"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, dir+"/"+e.Name(), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			add := func(x ast.Expr) {
				if lit, ok := x.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && hasLetter(s) {
						ids[s] = append(ids[s], fset.Position(lit.Pos()).String())
					}
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CallExpr:
					name := ""
					switch fn := x.Fun.(type) {
					case *ast.Ident:
						name = fn.Name
					case *ast.SelectorExpr:
						name = fn.Sel.Name
					}
					switch name {
					case "T":
						if len(x.Args) >= 3 {
							add(x.Args[2])
						}
					case "page", "typeText":
						for _, a := range x.Args {
							add(a)
						}
					case "FieldErrorf", "fail":
						if len(x.Args) > 0 {
							add(x.Args[len(x.Args)-1])
						}
					}
				case *ast.KeyValueExpr:
					if k, ok := x.Key.(*ast.Ident); ok && slices.Contains([]string{"Title", "Label", "Error", "Flash"}, k.Name) {
						add(x.Value)
					}
				case *ast.AssignStmt:
					for i, l := range x.Lhs {
						var name string
						switch lx := l.(type) {
						case *ast.SelectorExpr:
							name = lx.Sel.Name
						case *ast.IndexExpr:
							if s, ok := lx.X.(*ast.SelectorExpr); ok {
								name = s.Sel.Name
							} else if id, ok := lx.X.(*ast.Ident); ok {
								name = id.Name
							}
						}
						if i < len(x.Rhs) && slices.Contains([]string{"Error", "Flash", "Title", "Errors", "errs", "doneMessages", "msg"}, name) {
							add(x.Rhs[i])
						}
					}
				case *ast.ValueSpec:
					for _, v := range x.Values {
						if cl, ok := v.(*ast.CompositeLit); ok {
							for _, el := range cl.Elts {
								if kv, ok := el.(*ast.KeyValueExpr); ok {
									add(kv.Value)
								}
							}
						}
					}
				case *ast.ReturnStmt:
					if len(x.Results) == 2 {
						add(x.Results[1])
					}
				}
				return true
			})
		}
	}
	return ids
}

// TestCatalog fails when a template shows text without the catalog, or
// when a text of the templates or of the surfaces' Go code lacks a
// message in any locale.
func TestCatalog(t *testing.T) {
	names, _ := fs.Glob(web.Templates, "templates/*.html")
	for _, n := range names {
		b, _ := fs.ReadFile(web.Templates, n)
		for _, s := range untranslated(string(b)) {
			t.Errorf("%s: untranslated text %q (wrap it in {{t ...}})", n, s)
		}
	}
	ids := templateIDs(t)
	for id, where := range goIDs(t) {
		if !i18n.Has(id) && !ignoredGo(id) {
			ids[id] = append(ids[id], where...)
		}
	}
	var missing []string
	for id := range ids {
		if !i18n.Has(id) {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	for _, id := range missing {
		t.Errorf("no message %q (used in %s)", id, ids[id][0])
	}
	if out := os.Getenv("I18N_MISSING"); out != "" {
		_ = os.WriteFile(out, []byte(strings.Join(missing, "\n")+"\n"), 0o644)
	}
}

// ignoredGo are string literals of the Go code that the collector finds
// but that are no text for people (ids, formats, paths).
func ignoredGo(s string) bool {
	return strings.HasPrefix(s, "/") || !strings.ContainsAny(s, " ") && strings.ToLower(s) == s
}
