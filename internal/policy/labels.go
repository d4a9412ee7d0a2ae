package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// Locales are the locales titles and labels may be given in.
var Locales = []string{"en", "de", "zh"}

// fieldDoc is a Field as written: values are strings or {value, labels}.
type fieldDoc struct {
	Name   string       `json:"name" yaml:"name"`
	Type   string       `json:"type" yaml:"type"`
	Values []fieldValue `json:"values,omitempty" yaml:"values,omitempty"`
}

// fieldValue is one allowed value with its labels by locale.
type fieldValue struct {
	Value  string            `json:"value" yaml:"value"`
	Labels map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
}

func (fv *fieldValue) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '"' {
		*fv = fieldValue{}
		return json.Unmarshal(b, &fv.Value)
	}
	type plain fieldValue
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("a value is a string or {\"value\", \"labels\"}: %w", err)
	}
	*fv = fieldValue(p)
	return nil
}

func (fv fieldValue) MarshalJSON() ([]byte, error) {
	if len(fv.Labels) == 0 {
		return json.Marshal(fv.Value)
	}
	type plain fieldValue
	return json.Marshal(plain(fv))
}

func (fv *fieldValue) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*fv = fieldValue{}
		return n.Decode(&fv.Value)
	}
	if err := knownKeys(n, "value", "labels"); err != nil {
		return err
	}
	type plain fieldValue
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*fv = fieldValue(p)
	return nil
}

// knownKeys refuses a mapping key outside keys (yaml.v3 does not pass
// KnownFields on to custom unmarshalers).
func knownKeys(n *yaml.Node, keys ...string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: expected a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(keys, k.Value) {
			return fmt.Errorf("line %d: field %s not found (want %s)", k.Line, k.Value, strings.Join(keys, ", "))
		}
	}
	return nil
}

func (f *Field) set(d fieldDoc) {
	*f = Field{Name: d.Name, Type: d.Type}
	for _, v := range d.Values {
		f.Values = append(f.Values, v.Value)
		if len(v.Labels) > 0 {
			if f.Labels == nil {
				f.Labels = map[string]map[string]string{}
			}
			f.Labels[v.Value] = v.Labels
		}
	}
}

func (f Field) doc() fieldDoc {
	d := fieldDoc{Name: f.Name, Type: f.Type}
	for _, v := range f.Values {
		d.Values = append(d.Values, fieldValue{Value: v, Labels: f.Labels[v]})
	}
	return d
}

// UnmarshalJSON reads a field whose values are strings or {value, labels}.
func (f *Field) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d fieldDoc
	if err := dec.Decode(&d); err != nil {
		return err
	}
	f.set(d)
	return nil
}

// MarshalJSON writes a value with labels as {value, labels}, others as
// strings.
func (f Field) MarshalJSON() ([]byte, error) { return json.Marshal(f.doc()) }

// UnmarshalYAML is UnmarshalJSON for YAML.
func (f *Field) UnmarshalYAML(n *yaml.Node) error {
	if err := knownKeys(n, "name", "type", "values"); err != nil {
		return err
	}
	var d fieldDoc
	if err := n.Decode(&d); err != nil {
		return err
	}
	f.set(d)
	return nil
}

// MarshalYAML is MarshalJSON for YAML.
func (f Field) MarshalYAML() (any, error) { return f.doc(), nil }

// Label is value's label in locale: its label there, else its English
// label, else the value itself.
func (f Field) Label(value, locale string) string {
	return localized(f.Labels[value], locale, value)
}

// localized is titles[locale], else titles["en"], else def.
func localized(titles map[string]string, locale, def string) string {
	if s := titles[locale]; s != "" {
		return s
	}
	if s := titles["en"]; s != "" {
		return s
	}
	return def
}

// TitleIn is the type's title in locale (its name when it has none).
func (t *Type) TitleIn(locale string) string {
	def := t.Title
	if def == "" {
		def = t.Name
	}
	return localized(t.Titles, locale, def)
}

// PluralIn is the type's plural title in locale, else its title.
func (t *Type) PluralIn(locale string) string {
	if s := localized(t.TitlesPlural, locale, t.TitlePlural); s != "" {
		return s
	}
	return t.TitleIn(locale)
}

// TitleIn is the role's title in locale, else its name.
func (r *CompiledRole) TitleIn(locale string) string {
	def := r.Title
	if def == "" {
		def = r.Name
	}
	return localized(r.Titles, locale, def)
}

// checkTitles reports a locale of titles outside Locales or an empty title.
func (v *validator) checkTitles(path string, titles map[string]string) {
	for l, s := range titles {
		switch {
		case !slices.Contains(Locales, l):
			v.addf(path+"."+l, "unknown locale %q (want %s)", l, strings.Join(Locales, ", "))
		case strings.TrimSpace(s) == "":
			v.addf(path+"."+l, "empty text")
		}
	}
}
