// Package dns is the embedded DNS server of user-defined networks, on
// github.com/miekg/dns. The network manager opens its sockets on
// 127.0.0.11:53 inside a container's namespace and hands them over; the
// server answers A (and PTR) queries for container names, aliases and
// network aliases from a Resolver, and forwards every other query to the
// upstream resolvers from the daemon's own namespace, so that a host
// resolver on a loopback address (127.0.0.53) keeps working.
//
// It must not open sockets itself inside a namespace, nor know containers:
// the Resolver answers for one sandbox.
package dns
