package storetest_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	. "github.com/baselinehq/baseline/store/storetest"
)

// A new store reaches the current schema version; a store whose schema is
// newer than the program knows is refused, saying so.
func TestMigrationFromEmpty(t *testing.T) { eachPlace(t, tMigrationFromEmpty) }

func tMigrationFromEmpty(t *testing.T, p *place) {
	p.open(t, time.Now, 0)
	if v := p.version(t); v != store.SchemaVersion {
		t.Fatalf("version %d, want %d", v, store.SchemaVersion)
	}
	p.exec(t, fmt.Sprintf(p.setVersion, 99))
	if _, err := p.connect(t, time.Now, 0); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("opening a newer schema: %v", err)
	}
}

// A store at version 1 with data migrates, and its roll-ups are built
// from the latest results it held.
func TestMigrationFromVersion1(t *testing.T) { eachPlace(t, tMigrationFromVersion1) }

func tMigrationFromVersion1(t *testing.T, p *place) {
	p.open(t, time.Now, 1)
	if v := p.version(t); v != 1 {
		t.Fatalf("version %d, want 1", v)
	}
	p.exec(t, `INSERT INTO assets VALUES (101, 'ASSET_CONTAINER', 'a', 'a', 'n', '', '{"CustomerAssetId":101,"AssetType":"ASSET_CONTAINER","AssetName":"a"}', 1, 1, 0)`)
	p.exec(t, `INSERT INTO latest VALUES (101, 21, 1, 2, 2, 0, 1000), (101, 22, 1, 2, 1, 0, 1000), (101, 23, 1, 3, 0, 0, 1000)`)
	up := p.open(t, time.Now, 0)
	a, err := up.Asset(context.Background(), 101)
	if err != nil || a.PassedPolicyItemCount != 1 || a.FailedPolicyItemCount != 1 || a.CheckFailedCount != 1 {
		t.Errorf("migrated asset = %+v, %v", a, err)
	}
	if v := p.version(t); v != store.SchemaVersion {
		t.Errorf("version %d, want %d", v, store.SchemaVersion)
	}
}

// A store at version 6 (before the image files cache) migrates, keeps its
// data, and then caches image files.
func TestMigrationToImageFilesCache(t *testing.T) { eachPlace(t, tMigrationToImageFilesCache) }

func tMigrationToImageFilesCache(t *testing.T, p *place) {
	ctx := context.Background()
	p.open(t, time.Now, 6)
	p.exec(t, `INSERT INTO signatures VALUES ('sig', 'DescribeTasks', 1000, 2000)`)
	up := p.open(t, time.Now, 0)
	if v := p.version(t); v != store.SchemaVersion {
		t.Fatalf("version %d, want %d", v, store.SchemaVersion)
	}
	if n := p.count(t, "signatures"); n != 1 {
		t.Errorf("signatures after the migration: %d", n)
	}
	id := "sha256:" + fmt.Sprintf("%064d", 7)
	if err := up.PutImageFiles(ctx, id, store.ImageFiles{Setgid: []string{"/usr/bin/wall"}}); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := up.ImageFiles(ctx, id); err != nil || !ok || len(got.Setgid) != 1 {
		t.Errorf("after the migration: %+v, %v, %v", got, ok, err)
	}
}

// Two stores at version 7 (before the outbox) migrate, keep their data,
// and each gets a random store id of its own; they are ready then.
func TestMigrationToOutbox(t *testing.T) {
	ids := map[string]bool{}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for range 2 {
				ids[migratedStoreID(t, b.place(t))] = true
			}
		})
	}
	if want := 2 * len(backends); len(ids) != want {
		t.Errorf("%d distinct store ids among %d stores: %v", len(ids), want, ids)
	}
}

// migratedStoreID migrates a store at version 7 holding an image's files
// and returns its store id.
func migratedStoreID(t *testing.T, p *place) string {
	ctx := context.Background()
	p.open(t, time.Now, 7)
	p.exec(t, `INSERT INTO image_files VALUES ('sha256:1', '{}', 1000, 2000)`)
	up := p.open(t, time.Now, 0)
	if n := p.count(t, "image_files"); n != 1 {
		t.Errorf("image files after the migration: %d", n)
	}
	ob, ok := up.(store.OutboxStore)
	if !ok {
		t.Fatalf("%T does not offer store.OutboxStore", up)
	}
	id, err := ob.StoreID(ctx)
	if err != nil || len(id) != 32 {
		t.Errorf("store id after the migration: %q, %v", id, err)
	}
	if err := up.(store.HealthChecker).Ready(ctx); err != nil {
		t.Error(err)
	}
	return id
}

// A store from before the roll-ups per asset type (migration 9) gets them
// built from its roll-ups per asset: its summary is the same after the
// migration.
func TestMigrationBuildsTypeRollups(t *testing.T) { each(t, tMigrationBuildsTypeRollups) }

// typeRollupsVersion is the version whose migration builds type_rollup.
const typeRollupsVersion = 9

func tMigrationBuildsTypeRollups(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.Standard(t)
	if _, err := f.DB.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{21}, Assets: []uint64{CtrA}}); err != nil {
		t.Fatal(err)
	}
	before, err := f.DB.Summary(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.place.exec(t, "DROP TABLE type_rollup")
	f.place.exec(t, "DROP INDEX IF EXISTS assets_live")
	f.place.exec(t, "DROP INDEX IF EXISTS assets_list") // made by later migrations, run again
	f.place.exec(t, "DROP INDEX IF EXISTS assets_names")
	f.place.exec(t, "DROP INDEX IF EXISTS items_list")
	f.place.exec(t, f.place.unnameLatest)
	f.place.exec(t, fmt.Sprintf(f.place.setVersion, typeRollupsVersion-1))
	up := f.reopen(t)
	if v := f.place.version(t); v != store.SchemaVersion {
		t.Fatalf("version %d, want %d", v, store.SchemaVersion)
	}
	if n := f.place.count(t, "type_rollup"); n != 2 {
		t.Errorf("type roll-ups after the migration: %d, want 2 (hosts, containers)", n)
	}
	after, err := up.Summary(ctx, nil)
	if err != nil || !reflect.DeepEqual(after, before) {
		t.Errorf("summary after the migration\n got %+v, %v\nwant %+v", after, err, before)
	}
	checkRollups(t, f, "the migration")
}

// A store from before results were appended (migration 11) keeps every
// task's results with their evidence, the latest of each pair and the
// difference between tasks; a task after the migration is recorded and
// read as before, and the roll-ups agree.
func TestMigrationAppendsResults(t *testing.T) { eachPlace(t, tMigrationAppendsResults) }

func tMigrationAppendsResults(t *testing.T, p *place) {
	ctx := context.Background()
	c := NewClock()
	f := &fixture{Fixture: New(t, p.open(t, c.Now, store.ResultsAppended-1), c), place: p}
	p.exec(t, p.nameLatest) // written by this build's ingest, as it was then
	p.exec(t, p.rowResults) // read by this build's ingest
	first := f.Standard(t)
	c.Step(time.Hour)
	second := f.Ingest(t, store.Scope{}, f.BuildReport(map[uint64][]string{CtrA: {P, F, P, M}, CtrB: {F, P, P, M}}))
	before := storedResults(t, f.DB, first.ID, second.ID)
	p.exec(t, p.unnameLatest)
	p.exec(t, p.unrowResults)
	f.DB = f.reopen(t)
	if v := p.version(t); v != store.SchemaVersion {
		t.Fatalf("version %d, want %d", v, store.SchemaVersion)
	}
	if after := storedResults(t, f.DB, first.ID, second.ID); !reflect.DeepEqual(after, before) {
		t.Errorf("after the migration\n got %v\nwant %v", after, before)
	}
	c.Step(time.Hour)
	third := f.Ingest(t, store.Scope{}, f.BuildReport(map[uint64][]string{CtrA: {P, P, P, M}, CtrB: {F, P, P, M}}))
	d, err := f.DB.Diff(ctx, second.ID, third.ID)
	if err != nil || len(d.Fixed) != 1 || len(d.NewlyFailed) != 0 {
		t.Errorf("diff of a task after the migration: %+v, %v", d, err)
	}
	checkRollups(t, f, "the migration")
}

// storedResults prints what a store holds of two tasks: each one's
// results and the latest, with their evidence, and their difference.
func storedResults(t *testing.T, db store.Store, from, to int64) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for _, id := range []int64{from, to, 0} {
		err := db.ResultRows(ctx, store.ResultQuery{TaskID: id}, func(r results.Row) error {
			out = append(out, fmt.Sprintf("task %d: %+v", id, r))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	d, err := db.Diff(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return append(out, fmt.Sprintf("diff: %+v", d))
}

// latestNamesVersion is the version whose migration keeps in SQLite's
// latest rows their asset's name while it is current.
const latestNamesVersion = 14

// A store from before latest rows kept their asset's name (migration 14),
// with assets renamed and removed, lists each item's affected assets
// after the migration as an asset filter lists them: current assets only,
// in their names' order, on every page; and so after a scan that finds a
// removed asset again under another name.
func TestMigrationNamesLatest(t *testing.T) { eachPlace(t, tMigrationNamesLatest) }

func tMigrationNamesLatest(t *testing.T, p *place) {
	c := NewClock()
	f := &fixture{Fixture: New(t, p.open(t, c.Now, latestNamesVersion-1), c), place: p}
	p.exec(t, p.nameLatest) // written by this build's ingest, then dropped
	verdicts := map[uint64][]string{HostID: {P, F}, CtrA: {F, F, P, M}, CtrB: {F, P, F, M}, CtrC: {F, F, P, NA}, CtrD: {F, P, F, M}}
	names := map[uint64]string{HostID: "node-1", CtrA: "z", CtrB: "m", CtrC: "m", CtrD: "b"}
	ingestNamed(t, f, verdicts, names)
	c.Step(time.Hour)
	d := verdicts[CtrD]
	delete(verdicts, CtrD)
	names[CtrA] = "0"
	ingestNamed(t, f, verdicts, names)
	p.exec(t, p.unnameLatest)
	f.DB = f.reopen(t)
	if v := p.version(t); v != store.SchemaVersion {
		t.Fatalf("version %d, want %d", v, store.SchemaVersion)
	}
	failed := []store.Filter{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}, ExactMatch: true}}
	for _, item := range []uint64{21, 22, 23} {
		checkItemAssetPages(t, f, item, nil, CtrD)
		checkItemAssetPages(t, f, item, failed, CtrD)
	}
	c.Step(time.Hour)
	verdicts[CtrD], names[CtrD] = d, "y"
	ingestNamed(t, f, verdicts, names)
	for _, item := range []uint64{21, 22, 23} {
		checkItemAssetPages(t, f, item, failed)
	}
	checkRollups(t, f, "the migration")
}
