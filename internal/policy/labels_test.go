package policy

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLabels: a field's values may be strings or {value, labels}, in YAML
// and JSON alike; titles have per-locale variants; unknown locales and
// keys are problems; a document round-trips through JSON.
func TestLabels(t *testing.T) {
	src := `
object_types:
  - name: ticket
    title: Ticket
    title_plural: Tickets
    titles: {de: Ticket, zh: 工单}
    titles_plural: {zh: 工单列表}
    money_fields: [amount]
    currency: EUR
    fields:
      - name: status
        type: string
        values: [new, {value: in_progress, labels: {en: In progress, de: In Bearbeitung, zh: 处理中}}]
roles:
  - {name: L10, title: Basic, titles: {de: Basis}, level: 10, permissions: {ticket: {actions: [read]}}}
default_group_role: L10
`
	d, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	typ := pol.Type("ticket")
	f := typ.Fields["status"]
	if got := f.Values; len(got) != 2 || got[1] != "in_progress" {
		t.Fatalf("values = %v", got)
	}
	for _, tc := range []struct{ got, want string }{
		{f.Label("in_progress", "de"), "In Bearbeitung"},
		{f.Label("in_progress", "fr"), "In progress"},
		{f.Label("new", "de"), "new"},
		{typ.TitleIn("zh"), "工单"},
		{typ.PluralIn("zh"), "工单列表"},
		{typ.PluralIn("de"), "Tickets"},
		{typ.PluralIn("en"), "Tickets"},
		{pol.Role("L10").TitleIn("de"), "Basis"},
		{pol.Role("L10").TitleIn("zh"), "Basic"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"values":["new",{"value":"in_progress","labels":{"de":"In Bearbeitung","en":"In progress","zh":"处理中"}}]`) {
		t.Errorf("JSON: %s", b)
	}
	d2, err := Parse(b)
	if err != nil {
		t.Fatalf("JSON round trip: %v", err)
	}
	if d2.ObjectTypes[0].Fields[0].Labels["in_progress"]["zh"] != "处理中" {
		t.Errorf("JSON round trip lost labels: %+v", d2.ObjectTypes[0].Fields[0])
	}
	for _, bad := range []struct{ src, want string }{
		{strings.Replace(src, "titles: {de: Ticket, zh: 工单}", "titles: {fr: Billet}", 1), "object_types[ticket].titles.fr"},
		{strings.Replace(src, "labels: {en: In progress,", "labels: {xx: In progress,", 1), "object_types[ticket].fields[0].values[1].labels.xx"},
		{strings.Replace(src, "currency: EUR", "currency: euro", 1), "object_types[ticket].currency"},
		{strings.Replace(src, "{value: in_progress,", "{value: in_progress, label: x,", 1), "label"},
	} {
		d, err := Parse([]byte(bad.src))
		if err == nil {
			_, err = Compile(d)
		}
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("want a problem at %s, got %v", bad.want, err)
		}
	}
}
