package sqlstore

import (
	"testing"

	"github.com/baselinehq/baseline/checks"
)

// Every stored status and result code reads back as what it stores, and
// a code that none stores reads as the default (initial status, no
// result).
func TestStoredCodesReadBack(t *testing.T) {
	for st, code := range StatusCodes {
		if got := StatusOf(code); got != st {
			t.Errorf("status code %d reads as %q, want %q", code, got, st)
		}
	}
	for res, code := range ResultCodes {
		if got := ResultOf(code); got != res {
			t.Errorf("result code %d reads as %q, want %q", code, got, res)
		}
	}
	for _, code := range []int{-1, len(StatusCodes), 99} {
		if got := StatusOf(code); got != checks.CheckInit {
			t.Errorf("unknown status code %d reads as %q", code, got)
		}
	}
	for _, code := range []int{-1, len(ResultCodes), 99} {
		if got := ResultOf(code); got != "" {
			t.Errorf("unknown result code %d reads as %q", code, got)
		}
	}
}
