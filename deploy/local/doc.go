// Package local holds no code: it is the home of the scripts behind
// `make run` and `make test` (the local stack: Postgres, MariaDB, the
// Temporal dev server, the Intercom emulator and the service), and of the
// test that runs `make run` as a newcomer would and stops it.
package local
