package worldgen

import (
	"fmt"
	"time"
)

// RecordKind is a record type of the world with the weight records are
// drawn by and the prefix of their ids (a prefix and 8 digits).
type RecordKind struct {
	Type, Prefix string
	Weight       float64
}

// RecordKinds are the record types, their weights summing to 1.
var RecordKinds = []RecordKind{
	{"sales_order", "SO", 0.30}, {"shipment", "SH", 0.20}, {"invoice", "IN", 0.20},
	{"payment", "PA", 0.08}, {"inventory", "IV", 0.07}, {"ticket", "TK", 0.15},
}

// DrawKind returns the index in RecordKinds that x, uniform in [0, 1),
// falls on.
func DrawKind(x float64) int {
	for k, rk := range RecordKinds {
		if x < rk.Weight {
			return k
		}
		x -= rk.Weight
	}
	return len(RecordKinds) - 1
}

// HistoryDays is how far back record dates go: three years.
const HistoryDays = 3*365 + 1

// Days returns the dates "YYYY-MM-DD" of epoch minus i days, for i below
// HistoryDays.
func Days(epoch time.Time) []string {
	days := make([]string, HistoryDays)
	for i := range days {
		days[i] = epoch.AddDate(0, 0, -i).Format(time.DateOnly)
	}
	return days
}

// The values record attributes are drawn from.
var (
	OrderStatus   = []string{"open", "confirmed", "shipped", "invoiced", "closed", "cancelled"}
	InvoiceStatus = []string{"open", "paid", "overdue", "cancelled"}
	TicketStatus  = []string{"new", "in_progress", "waiting", "resolved", "closed"}
	TicketType    = []string{"incident", "question", "request", "complaint"}
	Carriers      = []string{"DHL", "UPS", "FedEx", "DB Schenker"}
	SKUs          = func() []string {
		out := make([]string, 500)
		for i := range out {
			out[i] = fmt.Sprintf("SKU-%04d", i)
		}
		return out
	}()
)
