// Package integration holds berth's end-to-end tests: they build the real
// binary, start `berth daemon` on temporary roots and drive it with berth's
// own CLI, the real Docker CLI and the official Go client, as a user would.
package integration
