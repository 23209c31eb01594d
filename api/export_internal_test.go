package api

// Small export pages, so that the tests' few tickets span several pages and a
// failure between pages can be shown (TestExportAbortsOnDatabaseFailure).
func init() { exportPageSize = 2 }
