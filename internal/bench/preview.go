package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/portcullis-dev/portcullis/internal/worldgen"
)

// previewTarget is governance.md §1's bound on a preview of a change on an
// account subtree holding 200,000 records.
const previewTarget = 2 * time.Second

// preview measures one impact preview (POST /api/v1/preview) of a grant
// change on the key account's subtree: the revoke user would get L30 on
// the key account, scope subtree, and so read on every record its tree
// owns (Size.KeyOrders sales orders and theirs). Nothing is written, so
// every round previews the same change.
func (r *runner) preview(ctx context.Context) error {
	body := map[string]any{"changes": []any{map[string]any{"op": "grant.create", "grant": map[string]any{
		"principal": "user:" + r.meta.RevokeUser, "account": worldgen.KeyAccount, "role": "L30"}}}}
	var gained float64
	s, el := measure(ctx, 1, r.opts.Duration, r.cpu, func(ctx context.Context, _ int) error {
		var p struct {
			Users   int `json:"users"`
			Effects []struct {
				User, Type, Action string
				Gained, Lost       int
			} `json:"effects"`
		}
		if _, err := r.expect(ctx, r.admin("POST", r.base+"/api/v1/preview", body), 200, &p); err != nil {
			return err
		}
		for _, e := range p.Effects {
			if e.User == r.meta.RevokeUser && e.Type == "sales_order" && e.Action == "read" {
				gained = float64(e.Gained)
				if e.Gained < r.meta.Size.KeyOrders {
					return fmt.Errorf("the preview gains %d sales orders, the key tree owns %d", e.Gained, r.meta.Size.KeyOrders)
				}
				return nil
			}
		}
		return fmt.Errorf("the preview shows no sales orders gained by %s: %+v", r.meta.RevokeUser, p.Effects)
	})
	res := s.result("preview", "previews", el, 1)
	res.Note = "one preview of an L30 grant on the key account's subtree"
	res.Figures = map[string]float64{"sales_orders_gained": gained}
	res.Target = "≤ 2 s at large"
	res.Met = boolPtr(res.Ops > 0 && res.Errors == 0 && res.P99 <= float64(previewTarget/time.Millisecond))
	r.add(res)
	return nil
}
