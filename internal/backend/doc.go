// Package backend owns the plain request and result types that cross the
// boundary between the Engine API (package api) and the services behind it
// (package daemon), so that neither imports the other.
//
// It holds data only: no behaviour, no I/O.
package backend
