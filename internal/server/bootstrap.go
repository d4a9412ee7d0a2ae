package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Bootstrap creates the first admin on an empty database: with the given
// email and password, or, when the password is empty, a generated one that
// it returns so the caller can print it once. It does nothing (and returns
// "") when any user exists.
func Bootstrap(ctx context.Context, st store.Store, email, password string) (created bool, generated string, err error) {
	users, _, err := st.ListUsers(ctx, store.UserFilter{Limit: 1})
	if err != nil || len(users) > 0 {
		return false, "", err
	}
	if email == "" {
		email = "admin@portcullis.local"
	}
	if password == "" {
		var b [18]byte
		_, _ = rand.Read(b[:])
		password = base64.RawURLEncoding.EncodeToString(b[:])
		generated = password
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return false, "", access.Errorf(access.CodeInvalid, "PORTCULLIS_ADMIN_PASSWORD: %v", err)
	}
	u := access.User{ID: "admin", Kind: access.KindInternal, Name: "Administrator", Email: email,
		Status: access.StatusActive, StaffRole: access.StaffAdmin}
	if _, _, err := st.PutUser(ctx, "system", u); err != nil {
		return false, "", err
	}
	if _, err := st.SetPassword(ctx, "system", u.ID, hash); err != nil {
		return false, "", err
	}
	return true, generated, nil
}
