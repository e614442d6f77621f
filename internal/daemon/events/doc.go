// Package events owns the daemon's event bus: publishers emit lifecycle
// events (container create/start/die/..., image tag/delete/...), subscribers
// read them live with filters, and a bounded in-memory history answers
// `--since` queries.
//
// Publishing never blocks on a slow subscriber: a subscriber whose buffer is
// full is dropped (its stream ends) rather than stalling container start.
package events
