// Package api owns berth's Engine API server: the route table (one file per
// group), the version middleware (/_ping, Api-Version, /vX.Y/ prefixes and
// Docker's too-new/too-old errors), the one function that maps error
// classes to HTTP status codes, connection hijacking for attach, stdcopy
// framing and JSON streams.
//
// It must not hold business rules: a handler decodes the request, calls one
// service method and encodes the answer. It declares the small interfaces
// it needs (backend.go) and imports no daemon code; cmd/berth hands it the
// services.
package api
