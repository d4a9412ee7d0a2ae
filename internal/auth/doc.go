// Package auth holds the credential rules of Portcullis: password hashing and
// password policy, the secrets behind API tokens and session cookies, session
// expiry, and login throttling. It is pure: no database, no HTTP, no
// goroutines. The use cases (package app) store what this package produces (a PHC-encoded
// password hash, the SHA-256 of a secret) and asks it the questions (does this
// password match, has this session expired, may this sign-in be tried).
//
// A sign-in (app.Login) goes through these steps, in this order:
//
//  1. Throttle.Allow(email, ip, now); if it refuses, answer 429 rate_limited
//     with Retry-After and verify nothing.
//  2. Look the user up by email. If there is none, call DummyVerify and answer
//     401, so that the response time does not tell which emails exist.
//  3. VerifyPassword against the stored hash, also for invited and disabled
//     users (refuse them after the check, with the same 401). On a mismatch
//     call Throttle.Failure; on a match call Throttle.Success and issue a
//     fresh session secret with NewSecret(SessionPrefix) (never reuse the one
//     the browser sent). NeedsRehash is not acted on yet (see its comment).
//
// Each VerifyPassword, DummyVerify and HashPassword call fills about 19 MiB of
// memory for about 50 ms of CPU; app bounds how many of its own calls run at
// once to GOMAXPROCS.
package auth
