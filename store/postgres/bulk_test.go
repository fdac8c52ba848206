package postgres_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/internal/pgtest"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/postgres"
	"github.com/baselinehq/baseline/store/storetest"
)

// A first ingest large enough to build the latest rows' indexes anew
// leaves the same indexes as the migrations, and the same answers as an
// ingest that maintains them row by row.
func TestBulkIngestRebuildsLatestIndexesAsMigrated(t *testing.T) {
	ctx := context.Background()
	type state struct {
		Indexes []string
		Summary []store.AssetSummary
		Items   []store.ItemSummary
	}
	ingest := func(bulk bool) state {
		dsn := pgtest.DSN(t)
		db := open(t, dsn)
		if bulk {
			defer postgres.SetBulkIndexRows(postgres.SetBulkIndexRows(1))
		}
		c := storetest.NewClock()
		f := storetest.New(t, db, c)
		f.Standard(t)
		var st state
		look, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer look.Close(ctx)
		rows, err := look.Query(ctx, "SELECT indexdef FROM pg_indexes WHERE tablename = 'latest' ORDER BY indexname")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var def string
			if err := rows.Scan(&def); err != nil {
				t.Fatal(err)
			}
			st.Indexes = append(st.Indexes, def)
		}
		rows.Close()
		if st.Summary, err = db.Summary(ctx, []assets.Type{assets.Host, assets.Container}); err != nil {
			t.Fatal(err)
		}
		if st.Items, _, err = db.Items(ctx, store.Query{Limit: store.MaxLimit}); err != nil {
			t.Fatal(err)
		}
		return st
	}
	bulk, rowByRow := ingest(true), ingest(false)
	if len(rowByRow.Indexes) < 3 {
		t.Fatalf("latest's indexes: %v", rowByRow.Indexes)
	}
	if !reflect.DeepEqual(bulk, rowByRow) {
		t.Errorf("bulk ingest:\n%+v\nrow by row:\n%+v", bulk, rowByRow)
	}
}
