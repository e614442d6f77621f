// Package errdefs owns berth's error classes. An error is classified where it
// arises (errdefs.NotFound(err)), wrapped freely with fmt.Errorf("...: %w"),
// and mapped to an HTTP status exactly once, in package api.
//
// It must not import net/http: the mapping is the API's business.
package errdefs
