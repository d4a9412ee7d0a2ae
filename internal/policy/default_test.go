package policy

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDefault guarantees the embedded policy is valid, so Default never
// panics.
func TestDefault(t *testing.T) {
	d, err := Parse(DefaultYAML())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := Validate(d); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	p := Default()
	if p != Default() {
		t.Error("Default compiled twice")
	}
	if diff := cmp.Diff(d, p.Document()); diff != "" {
		t.Errorf("Default().Document() differs from default.yaml (-yaml +doc):\n%s", diff)
	}
	if got := p.DefaultGroupRole.Name; got != "L10" {
		t.Errorf("DefaultGroupRole = %s, want L10", got)
	}
}

// TestDefault_Roles checks the ladder of DESIGN §1 as the engine sees it.
func TestDefault_Roles(t *testing.T) {
	p := Default()
	type role struct {
		Title                              string
		Level                              int
		Protected, Assignable, ManageUsers bool
	}
	want := map[string]role{
		"L10": {"Basic", 10, false, true, false},
		"L20": {"Orders", 20, false, true, false},
		"L30": {"Orders with Prices", 30, false, true, false},
		"L40": {"Billing", 40, false, true, false},
		"L80": {"Admin", 80, false, true, true},
		"L90": {"Owner", 90, true, false, true},
	}
	got := map[string]role{}
	for _, r := range p.Roles() {
		got[r.Name] = role{r.Title, r.Level, r.Protected, r.Assignable, r.ManageUsers}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
}

func TestDefault_Permissions(t *testing.T) {
	p := Default()
	prices := []string{"price", "discount", "amount", "lines[].price", "lines[].discount", "lines[].amount"}
	tests := []struct {
		role, typ string
		actions   []string // nil: none
		own       bool
		fields    []string // nil: no restricted field
	}{
		{"L10", "account", []string{"read"}, false, nil},
		{"L10", "inventory", []string{"read"}, false, nil},
		{"L10", "ticket", []string{"read", "create", "update"}, true, nil},
		{"L10", "sales_order", nil, false, nil},
		{"L20", "ticket", []string{"read", "create", "update"}, false, nil},
		{"L20", "sales_order", []string{"read"}, false, nil},
		{"L20", "shipment", []string{"read"}, false, nil},
		{"L20", "invoice", nil, false, nil},
		{"L30", "sales_order", []string{"read"}, false, prices},
		{"L30", "contact", []string{"read"}, false, nil},
		{"L40", "invoice", []string{"read"}, false, nil},
		{"L40", "payment", []string{"read"}, false, nil},
		{"L40", "balance", []string{"read"}, false, nil},
		{"L40", "sales_order", []string{"read"}, false, prices},
		{"L80", "sales_order", []string{"read", "create"}, false, prices},
		{"L80", "ticket", []string{"read", "create", "update"}, false, nil},
		{"L90", "sales_order", []string{"read", "create"}, false, prices},
		{"L90", "address", []string{"read"}, false, nil},
		{"L90", "payment", []string{"read"}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.role+"/"+tt.typ, func(t *testing.T) {
			typ := p.Type(tt.typ)
			perm := p.Role(tt.role).Perm(typ)
			if diff := cmp.Diff(tt.actions, perm.Actions.Names()); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			if perm.Own != tt.own {
				t.Errorf("Own = %v, want %v", perm.Own, tt.own)
			}
			if diff := cmp.Diff(tt.fields, typ.FieldNames(perm.Fields)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefault_Types(t *testing.T) {
	p := Default()
	var names []string
	for _, typ := range p.Types() {
		names = append(names, typ.Name)
		if typ.Title == "" {
			t.Errorf("type %s has no title", typ.Name)
		}
	}
	want := []string{"account", "address", "contact", "inventory", "sales_order",
		"shipment", "invoice", "payment", "balance", "ticket"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}

	so := p.Type("sales_order")
	if so.OwnerField != "customer" || so.DateField != "order_date" {
		t.Errorf("sales_order owner_field, date_field = %q, %q", so.OwnerField, so.DateField)
	}
	for name, typ := range map[string]string{"number": FieldString, "status": FieldString,
		"customer": FieldString, "order_date": FieldDate, "price": FieldNumber,
		"discount": FieldNumber, "amount": FieldNumber} {
		if got := so.Fields[name].Type; got != typ {
			t.Errorf("sales_order field %s type = %q, want %q", name, got, typ)
		}
	}
	if got := p.Type("ticket").Fields["priority"].Values; !cmp.Equal(got, []string{"low", "normal", "high", "urgent"}) {
		t.Errorf("ticket priority values = %v", got)
	}

	shares := map[string][]string{}
	for _, typ := range p.Types() {
		for _, s := range typ.SharedFrom {
			shares[typ.Name] = append(shares[typ.Name], s.From.Name+" "+s.Access)
		}
	}
	wantShares := map[string][]string{"shipment": {"sales_order read"}, "payment": {"invoice read"}}
	if diff := cmp.Diff(wantShares, shares); diff != "" {
		t.Errorf("sharing (-want +got):\n%s", diff)
	}
	if got := p.Type("shipment").ParentType; got != "sales_order" {
		t.Errorf("shipment parent_type = %q", got)
	}
	if got := p.Type("payment").ParentType; got != "invoice" {
		t.Errorf("payment parent_type = %q", got)
	}
	// records.md §2: the conversation on tickets; files on tickets,
	// invoices and orders; customers attach files to tickets only.
	talk := map[string][3]bool{}
	for _, typ := range p.Types() {
		if typ.Comments || typ.Files || typ.ExternalFiles {
			talk[typ.Name] = [3]bool{typ.Comments, typ.Files, typ.ExternalFiles}
		}
	}
	wantTalk := map[string][3]bool{"ticket": {true, true, true}, "invoice": {false, true, false}, "sales_order": {false, true, false}}
	if diff := cmp.Diff(wantTalk, talk); diff != "" {
		t.Errorf("comments, files, external_files (-want +got):\n%s", diff)
	}
}

// TestDefault_JSONRoundTrip checks that the JSON form of a document parses
// to the same Document as its YAML source.
func TestDefault_JSONRoundTrip(t *testing.T) {
	yd := mustParse(t, string(DefaultYAML()))
	data, err := json.MarshalIndent(yd, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	jd, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(JSON): %v", err)
	}
	if diff := cmp.Diff(yd, jd); diff != "" {
		t.Errorf("JSON and YAML differ (-yaml +json):\n%s", diff)
	}
}
