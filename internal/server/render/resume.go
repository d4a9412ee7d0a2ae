package render

import (
	"bytes"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// Notices on a form's page that sign-in brought back to (surface.Resume).
const (
	resumedNotice          = "Your session had expired, so you had to sign in again. What you typed is filled in below (passwords and codes are never kept): check it and send the form again."
	editNotice             = "Nothing was saved. What you entered is filled in below: change it and send the form again."
	resumedTruncatedNotice = "Your session had expired, so you had to sign in again. What you typed is filled in below, except passwords, codes and texts too long to keep: check it and send the form again."
)

// fillable are the input types whose value a kept form restores; hidden
// inputs keep what the server put there (a version, an id), and password
// and file inputs are never filled.
var fillable = []string{"", "text", "email", "search", "tel", "url", "number", "date", "datetime-local", "month", "week", "time", "color", "range"}

// fillKept puts the kept values into the forms of page (rendered HTML)
// that were sent to kept.Action: text inputs, text areas, selects,
// checkboxes and radio buttons, by name, in document order for repeated
// names. Secrets were never kept and password inputs are skipped anyway.
// The values are text nodes and attributes of the parsed document, so
// the renderer escapes them.
func fillKept(page []byte, path string, kept *surface.Kept) ([]byte, error) {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil, err
	}
	var forms []*html.Node
	var find func(n *html.Node)
	find = func(n *html.Node) {
		if n.Type == html.ElementNode && n.DataAtom == atom.Form && strings.EqualFold(attr(n, "method"), "post") && actionPath(attr(n, "action"), path) == kept.Action {
			forms = append(forms, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	for _, f := range forms {
		fillForm(f, kept.Values)
	}
	var out bytes.Buffer
	if err := html.Render(&out, doc); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// actionPath is the path a form's action attribute sends it to, from the
// page at path ("" is the page itself).
func actionPath(action, path string) string {
	if action == "" {
		return path
	}
	base := &url.URL{Path: path}
	u, err := url.Parse(action)
	if err != nil {
		return ""
	}
	return base.ResolveReference(u).Path
}

func fillForm(form *html.Node, values url.Values) {
	next := map[string]int{} // the next value of a repeated text name
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			name := attr(n, "name")
			vs, ok := values[name]
			if name != "" && !surface.IsSecret(name) {
				switch n.DataAtom {
				case atom.Input:
					switch t := strings.ToLower(attr(n, "type")); {
					case t == "checkbox" || t == "radio":
						v := attr(n, "value")
						if v == "" {
							v = "on"
						}
						setFlag(n, "checked", slices.Contains(vs, v))
					case ok && slices.Contains(fillable, t) && next[name] < len(vs):
						setAttr(n, "value", vs[next[name]])
						next[name]++
					}
				case atom.Textarea:
					if ok && next[name] < len(vs) {
						for c := n.FirstChild; c != nil; c = n.FirstChild {
							n.RemoveChild(c)
						}
						n.AppendChild(&html.Node{Type: html.TextNode, Data: vs[next[name]]})
						next[name]++
					}
				case atom.Select:
					if ok {
						selectOptions(n, vs)
					}
					return
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(form)
}

// selectOptions selects the options of sel whose values are in vs, when
// any is offered; otherwise sel stays as rendered.
func selectOptions(sel *html.Node, vs []string) {
	var opts []*html.Node
	var collect func(n *html.Node)
	collect = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && c.DataAtom == atom.Option {
				opts = append(opts, c)
			} else if c.Type == html.ElementNode && c.DataAtom == atom.Optgroup {
				collect(c)
			}
		}
	}
	collect(sel)
	value := func(o *html.Node) string {
		for _, a := range o.Attr {
			if a.Key == "value" {
				return a.Val
			}
		}
		var b strings.Builder
		for c := o.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
			}
		}
		return strings.TrimSpace(b.String())
	}
	if !slices.ContainsFunc(opts, func(o *html.Node) bool { return slices.Contains(vs, value(o)) }) {
		return
	}
	for _, o := range opts {
		setFlag(o, "selected", slices.Contains(vs, value(o)))
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func setAttr(n *html.Node, key, val string) {
	for i := range n.Attr {
		if n.Attr[i].Key == key {
			n.Attr[i].Val = val
			return
		}
	}
	n.Attr = append(n.Attr, html.Attribute{Key: key, Val: val})
}

// setFlag sets or removes a boolean attribute.
func setFlag(n *html.Node, key string, on bool) {
	n.Attr = slices.DeleteFunc(n.Attr, func(a html.Attribute) bool { return a.Key == key })
	if on {
		n.Attr = append(n.Attr, html.Attribute{Key: key})
	}
}
