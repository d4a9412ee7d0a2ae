package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"os"

	"github.com/portcullis-dev/portcullis/client"
	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// demoServer starts a Portcullis on a fresh SQLite database with one
// customer account C1 (external access on), its user buyer@example.com
// (L20: orders without prices) and an admin, and returns its URL and an
// admin API token. A real program has a running server instead.
func demoServer() (url, token string, stop func()) {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "portcullis-example")
	st, err := sqlstore.Open(ctx, dir+"/example.db", sqlstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	f, err := follow.Start(ctx, st, follow.Options{})
	if err != nil {
		log.Fatal(err)
	}
	w := store.Write{Actor: "example"}
	st.PutAccount(ctx, w, access.Account{ID: "C1", Name: "Acme", Kind: "customer", ExternalAccess: true, Inherit: true})
	st.PutUser(ctx, w, access.User{ID: "admin", Kind: "internal", StaffRole: "admin", Name: "Admin", Email: "admin@example.com", Status: access.StatusActive})
	st.PutUser(ctx, w, access.User{ID: "buyer", Kind: "external", HomeAccount: "C1", Name: "Buyer", Email: "buyer@example.com", Status: access.StatusActive})
	st.CreateGrant(ctx, w, access.Grant{Principal: "user:buyer", Account: "C1", Role: "L20", Scope: access.ScopeSubtree, Access: access.AccessReadWrite})
	srv := server.New(st, f.Engine(), server.Config{})
	_, secret, _, err := srv.App().CreateToken(ctx, app.SystemActor("example"), app.TokenRequest{User: "admin", Name: "example"})
	if err != nil {
		log.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	return hs.URL, secret, func() { hs.Close(); f.Close(); st.Close(); os.RemoveAll(dir) }
}

// An ERP loads orders with a batch, then reads one back as its customer's
// buyer would see it (no prices at L20), waiting for the batch's revision.
func Example() {
	url, token, stop := demoServer()
	defer stop()
	ctx := context.Background()

	c := client.New(url, client.WithToken(token))
	res, err := c.Batch(ctx, []client.Record{
		{Type: "sales_order", ID: "SO1", Owner: "C1", Date: "2026-01-15", Attributes: map[string]any{"number": "SO1", "status": "open", "price": 120.0}},
		{Type: "sales_order", ID: "SO2", Owner: "C1", Date: "2026-01-16", Attributes: map[string]any{"number": "SO2", "status": "shipped", "price": 80.0}},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("upserted", res.Upserted)

	rec, err := c.GetRecord(ctx, "sales_order", "SO1", client.GetOptions{AsUser: "buyer", MinRevision: res.Revision})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.ID, rec.Attributes["status"], rec.Attributes["price"])
	// Output:
	// upserted 2
	// SO1 open <nil>
}

// Records iterates over every page of a list; here the as_user list of
// another application.
func ExampleClient_Records() {
	url, token, stop := demoServer()
	defer stop()
	ctx := context.Background()
	c := client.New(url, client.WithToken(token))
	var batch []client.Record
	for i := range 120 {
		batch = append(batch, client.Record{Type: "sales_order", ID: fmt.Sprintf("SO%03d", i), Owner: "C1", Attributes: map[string]any{"status": "open"}})
	}
	if _, err := c.Batch(ctx, batch, nil); err != nil {
		log.Fatal(err)
	}
	n := 0
	for rec, err := range c.Records(ctx, "sales_order", client.ListOptions{AsUser: "buyer", Sort: "id", Limit: 50}) {
		if err != nil {
			log.Fatal(err)
		}
		if n == 0 {
			fmt.Println("first", rec.ID)
		}
		n++
	}
	fmt.Println("records", n)
	// Output:
	// first SO000
	// records 120
}

// A user signs in with a session; a check and an error answer.
func ExampleClient_Login() {
	url, token, stop := demoServer()
	defer stop()
	ctx := context.Background()
	admin := client.New(url, client.WithToken(token))
	if _, err := admin.PutRecord(ctx, client.Record{Type: "sales_order", ID: "SO1", Owner: "C1", Attributes: map[string]any{"status": "open"}}); err != nil {
		log.Fatal(err)
	}
	ok, err := admin.Check(ctx, client.CheckRequest{User: "buyer", Action: "read", Type: "sales_order", ID: "SO1"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("buyer may read SO1:", ok.Allowed)

	// A user without a password cannot sign in: a typed error.
	c := client.New(url)
	_, err = c.Login(ctx, "buyer@example.com", "wrong password")
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code)
	}
	// Output:
	// buyer may read SO1: true
	// 401 unauthenticated
}
