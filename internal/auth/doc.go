// Package auth holds the credential rules of Portcullis: password hashing and
// password policy, the secrets behind API tokens and session cookies, session
// expiry, and login throttling. It is pure: no database, no HTTP, no
// goroutines. The use cases (package app) store what this package produces (a PHC-encoded
// password hash, the SHA-256 of a secret) and asks it the questions (does this
// password match, has this session expired, may this sign-in be tried).
//
// # Guarded checks
//
// Every check of a secret a client sends (a sign-in, the current_password
// of a password or email change, a reset request, an MFA code) goes
// through one Throttle and, when it computes argon2, one Hasher, in this
// order (identity.md §4):
//
//  1. CheckPasswordLength: a password longer than MaxPasswordBytes is 400
//     invalid before anything else.
//  2. Throttle.Reserve(email, ip, now): nil means 429 rate_limited (the
//     message says when to retry), and nothing is checked, so a correct password past the
//     limit is refused like a wrong one. The reservation counts while in
//     flight: at most 5 checks per (email, address) and 20 per address in
//     15 minutes whatever the concurrency.
//  3. Wait Reservation.Delay (the slow-down of an email with failures
//     from many addresses; at most 10 s), holding no Hasher turn.
//  4. The check: Hasher.Verify against the stored hash, or, when the user
//     does not exist or has no password, Hasher.DummyVerify, so that the
//     time and the work do not tell which emails exist. ErrBusy (no turn
//     within 5 s) is 503 unavailable.
//  5. Settle the reservation: Success on a match, Failure on a mismatch
//     (also for a user that is not active, after the check), Cancel when
//     nothing was checked (ErrBusy, a database error).
//
// The other paths use the same calls: a reset request reserves with the
// email it names and settles with Failure (each request counts, whatever
// the answer); an MFA code reserves with the user's email and settles
// like a password. Setting a password (HashPassword through Hasher.Hash)
// applies ValidatePassword first, with the user's email and name.
//
// Each VerifyPassword, DummyVerify and HashPassword call fills about 19 MiB
// of memory for about 50 ms of CPU; a Hasher runs at most as many as there
// are CPUs (at most MaxConcurrentHashes), which bounds the memory of
// hashing whatever the load. NeedsRehash is not acted on yet (see its
// comment).
package auth
