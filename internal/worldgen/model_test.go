package worldgen

import (
	"reflect"
	"testing"
	"time"
)

var testEpoch = time.Date(2026, time.March, 2, 0, 0, 0, 0, time.UTC)

// tiny is the smallest size Validate accepts, enough for every named user.
var tiny = Size{Name: "tiny", Customers: 60, Distributors: 3, Users: 150, DirectGrants: 250, Records: 4000, KeyOrders: 700}

func TestNewModel_Deterministic(t *testing.T) {
	a, b, c := NewModel(tiny, 7, testEpoch), NewModel(tiny, 7, testEpoch), NewModel(tiny, 8, testEpoch)
	if !reflect.DeepEqual([]any{a.Accounts, a.Users, a.Members, a.Grants}, []any{b.Accounts, b.Users, b.Members, b.Grants}) {
		t.Error("two models of the same size and seed differ")
	}
	if reflect.DeepEqual(a.Grants, c.Grants) {
		t.Error("models of different seeds have the same grants")
	}
}

func TestNewModel_Shape(t *testing.T) {
	for _, size := range []Size{tiny, Small} {
		if err := size.Validate(); err != nil {
			t.Fatal(err)
		}
		m := NewModel(size, 1, testEpoch)
		if len(m.Customers) != size.Customers || len(m.Distributors) != size.Distributors {
			t.Errorf("%s: %d customers, %d distributors", size.Name, len(m.Customers), len(m.Distributors))
		}
		if len(m.Ordinary) != size.Users || len(m.Users) != size.Users+5 {
			t.Errorf("%s: %d ordinary of %d users, want %d and 5 named", size.Name, len(m.Ordinary), len(m.Users), size.Users)
		}
		if n := len(m.Grants); n < size.DirectGrants || n > size.DirectGrants*11/10 {
			t.Errorf("%s: %d direct grants, want about %d", size.Name, n, size.DirectGrants)
		}
		if n := len(m.Reach(UserDistributor)); n != 101 {
			t.Errorf("%s: %s reaches %d accounts, want D0001 and its 100 stores", size.Name, UserDistributor, n)
		}
		grants := 0
		for _, g := range m.Grants {
			if g.Principal == "user:"+UserMulti50 {
				grants++
			}
		}
		if grants != 50 {
			t.Errorf("%s: %s holds %d grants, want 50", size.Name, UserMulti50, grants)
		}
	}
	if err := (Size{Name: "x", Customers: 10}).Validate(); err == nil {
		t.Error("a size without room for the named users validates")
	}
}

func TestDrawKind(t *testing.T) {
	sum := 0.0
	for _, k := range RecordKinds {
		sum += k.Weight
	}
	if sum < 0.999 || sum > 1.001 {
		t.Errorf("weights sum to %v", sum)
	}
	if DrawKind(0) != 0 || DrawKind(0.9999) != len(RecordKinds)-1 || RecordKinds[DrawKind(0.35)].Type != "shipment" {
		t.Error("DrawKind does not follow the weights")
	}
}
