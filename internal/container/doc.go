// Package container owns the container record: its configuration as the API
// gave it, its typed state machine, the name and ID index, atomic persistence
// of each record under <data-root>/containers/<id>/, and the read-only
// snapshots that list and inspect read without taking a container's lock.
//
// It must not know HTTP, runtimes or images: the daemon drives transitions and
// this package only checks that they are legal and records them.
//
// Key types: Container (the record, mutated only under its lock through
// Store.Update), State (the state machine), Snapshot (an immutable copy) and
// Store (index + persistence).
package container
