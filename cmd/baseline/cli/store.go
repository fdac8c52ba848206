package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/baselinehq/baseline/api/client"
	"github.com/baselinehq/baseline/api/remote"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/backend"
)

// commandCacheKiB is the SQLite page cache of a one-shot command's
// connections: 512 KiB (64 pages). A scan writes its results once and
// reads little back, what it reads again is in the kernel's page cache,
// and its resident memory is what a periodic job on every host costs (a
// 1 MiB cache took about 1 MB more of a scan's peak, for no less CPU);
// the daemon keeps the store's larger default.
const commandCacheKiB = 512

// commandConns is how many SQLite connections a one-shot command keeps:
// the scan's results are written by one goroutine while its workers read
// the image files cache, and each connection more holds its own cache,
// schema and statements (about 0.5 MB each, at a scan's peak).
const commandConns = 2

// openStore opens the store (--store, or the SQLite store in --data-dir)
// for a one-shot command; every start first marks as failed the tasks of
// processes that died mid-scan.
func openStore(ctx context.Context, g *globals) (store.Store, error) {
	return openStoreWith(ctx, g, backend.Options{CacheKiB: commandCacheKiB, Conns: commandConns})
}

// openStoreWith is openStore with the backend's options (the daemon's).
func openStoreWith(ctx context.Context, g *globals, opts backend.Options) (store.Store, error) {
	db, err := backend.Open(ctx, g.store, g.dataDir, opts)
	if err != nil {
		if g.store != "" {
			return nil, fmt.Errorf("store: %w (set --store, BASELINE_STORE or the configuration's store)", err)
		}
		return nil, fmt.Errorf("store: %w (set --data-dir or BASELINE_DATA_DIR)", err)
	}
	if _, err := db.RecoverInterrupted(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	return db, nil
}

// queryStore is what a query command needs of a store: the roles that
// both the local store and a daemon's API (--server) offer.
type queryStore interface {
	store.ResultReader
	store.WhitelistStore
	store.PeriodStore
}

// errNotRemote refuses, with --server, a command that only the daemon's
// own store can answer.
var errNotRemote = errors.New("not available through --server: run it on the daemon's host")

// withStore opens the store for a query command: the local one, or a
// remote daemon's through its API with --server.
func withStore(g *globals, f func(ctx context.Context, st queryStore) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if g.server != "" {
			rs, err := remoteStore(g)
			if err != nil {
				return err
			}
			return f(cmd.Context(), rs)
		}
		db, err := openStore(cmd.Context(), g)
		if err != nil {
			return err
		}
		defer db.Close()
		return f(cmd.Context(), db)
	}
}

// withLocalStore opens the local store for a command on tasks, which
// --server does not offer.
func withLocalStore(g *globals, f func(ctx context.Context, st store.Store) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if g.server != "" {
			return errNotRemote
		}
		db, err := openStore(cmd.Context(), g)
		if err != nil {
			return err
		}
		defer db.Close()
		return f(cmd.Context(), db)
	}
}

func remoteStore(g *globals) (*remote.Store, error) {
	c, err := client.New(g.server, g.secretID, g.secretKey)
	if err != nil {
		return nil, fmt.Errorf("--server: %w (set --secret-id and --secret-key, or BASELINE_SECRET_ID and BASELINE_SECRET_KEY)", err)
	}
	return remote.New(c), nil
}

// listFlags are the paging, filter and output options of list commands.
type listFlags struct {
	offset  int
	limit   int
	filters []string
	exact   bool
	format  string
}

func (l *listFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&l.offset, "offset", 0, "skip this many entries")
	fl.IntVar(&l.limit, "limit", store.DefaultLimit, fmt.Sprintf("entries per page (at most %d)", store.MaxLimit))
	fl.StringArrayVar(&l.filters, "filter", nil, "filter NAME=V1,V2 (values ORed, filters ANDed; repeatable)")
	fl.BoolVar(&l.exact, "exact", false, "match filter values exactly (default: substring)")
	fl.StringVar(&l.format, "format", "table", "output format: table or json")
}

// query builds the store query; extra filters come from command shorthands.
func (l *listFlags) query(extra ...store.Filter) (store.Query, error) {
	if l.format != "table" && l.format != "json" {
		return store.Query{}, fmt.Errorf("--format: %q is not table or json", l.format)
	}
	q := store.Query{Offset: l.offset, Limit: l.limit}
	for _, f := range l.filters {
		name, vals, ok := strings.Cut(f, "=")
		if !ok || name == "" || vals == "" {
			return q, fmt.Errorf("--filter: %q is not NAME=V1,V2", f)
		}
		q.Filters = append(q.Filters, store.Filter{Name: name, Values: strings.Split(vals, ","), ExactMatch: l.exact})
	}
	for _, f := range extra {
		if len(f.Values) > 0 {
			q.Filters = append(q.Filters, f)
		}
	}
	if err := q.Normalize(); err != nil {
		return q, fmt.Errorf("--offset, --limit or --filter: %w", err)
	}
	return q, nil
}

func exact(name string, vals ...string) store.Filter {
	var vs []string
	for _, v := range vals {
		if v != "" {
			vs = append(vs, v)
		}
	}
	return store.Filter{Name: name, Values: vs, ExactMatch: true}
}

// pageFooter says which entries a page shows.
func pageFooter(g *globals, q store.Query, n, total int) {
	if total == 0 {
		fmt.Fprintln(g.stdout, "Nothing found.")
		return
	}
	fmt.Fprintf(g.stdout, "%d-%d of %d\n", q.Offset+1, q.Offset+n, total)
}

// runList fetches one page and prints it as JSON, or as a table and a
// footer saying which entries the page shows.
func runList[T any](ctx context.Context, g *globals, l *listFlags, extra []store.Filter,
	fetch func(context.Context, store.Query) ([]T, int, error), render func([]T)) error {
	q, err := l.query(extra...)
	if err != nil {
		return err
	}
	list, total, err := fetch(ctx, q)
	if err != nil {
		return err
	}
	if l.format == "json" {
		return listJSON(g, list, total)
	}
	render(list)
	pageFooter(g, q, len(list), total)
	return nil
}

func listJSON[T any](g *globals, items []T, total int) error {
	if items == nil {
		items = []T{}
	}
	return writeJSON(g.stdout, map[string]any{"TotalCount": total, "List": items})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
