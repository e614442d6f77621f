package errdefs

import (
	"errors"
	"fmt"
	"testing"
)

func TestClassOf(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"plain", base, ClassUnknown},
		{"notfound", NotFound(base), ClassNotFound},
		{"wrapped", fmt.Errorf("ctx: %w", Conflict(base)), ClassConflict},
		{"outermost wins", InvalidParameter(NotFound(base)), ClassInvalidParameter},
		{"formatted", NotFoundf("No such image: %s", "x"), ClassNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClassOf(tt.err); got != tt.want {
				t.Fatalf("ClassOf = %v, want %v", got, tt.want)
			}
			if tt.err != base && !errors.Is(tt.err, base) && tt.name != "formatted" {
				t.Fatalf("cause lost")
			}
		})
	}
	if NotFound(nil) != nil {
		t.Fatal("NotFound(nil) must be nil")
	}
}
