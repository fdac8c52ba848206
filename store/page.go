package store

import "context"

// Fetch reads one page of a list and the list's total size.
type Fetch[T any] func(ctx context.Context, q Query) ([]T, int, error)

// All reads every page of a list, MaxLimit rows at a time.
func All[T any](ctx context.Context, fetch Fetch[T]) ([]T, error) {
	var all []T
	for off := 0; ; off += MaxLimit {
		page, total, err := fetch(ctx, Query{Offset: off, Limit: MaxLimit})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) == 0 || off+MaxLimit >= total {
			return all, nil
		}
	}
}

// Slice is the page q selects of a list held in memory; an offset past the
// end gives an empty page. q must be normalized.
func Slice[T any](list []T, q Query) []T {
	if q.Offset >= len(list) {
		return list[:0]
	}
	rest := list[q.Offset:]
	if q.Limit < len(rest) {
		rest = rest[:q.Limit]
	}
	return rest
}
