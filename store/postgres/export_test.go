package postgres

// SetBulkIndexRows sets the task size from which a first ingest builds
// the latest rows' indexes anew, and returns the previous size.
func SetBulkIndexRows(n int) int {
	old := bulkIndexRows
	bulkIndexRows = n
	return old
}
