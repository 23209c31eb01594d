package store

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// timeLayout is how every time is written to the database: UTC with microseconds
// and a fixed width. SQLite stores it as text, where fixed width makes text order
// equal time order (so ORDER BY, range filters and cursors work); MySQL parses it
// into DATETIME(6) as is. Never pass a time.Time directly as a query argument:
// the SQLite driver would write it in another format. Use dbTime / nullTime.
const timeLayout = "2006-01-02 15:04:05.000000"

// dbTime is a NOT NULL time column or argument.
type dbTime struct{ time.Time }

func ts(t time.Time) dbTime { return dbTime{t} }

// dbNow is the current time as the database stores it (UTC, microseconds), so a
// row returned from memory equals the same row read back.
func dbNow() dbTime { return dbTime{time.Now().UTC().Truncate(time.Microsecond)} }

// Value writes t in timeLayout, in UTC, truncated to the microsecond.
func (t dbTime) Value() (driver.Value, error) { return t.UTC().Format(timeLayout), nil }

// Scan reads a time.Time (MySQL with parseTime, SQLite DATETIME columns) or text.
func (t *dbTime) Scan(v any) error {
	switch x := v.(type) {
	case time.Time:
		t.Time = x.UTC()
		return nil
	case string:
		return t.parse(x)
	case []byte:
		return t.parse(string(x))
	case nil:
		return fmt.Errorf("store: NULL in a NOT NULL time column")
	}
	return fmt.Errorf("store: cannot read a time from %T", v)
}

func (t *dbTime) parse(s string) error {
	for _, layout := range []string{timeLayout, time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05"} {
		if p, err := time.Parse(layout, s); err == nil {
			t.Time = p.UTC()
			return nil
		}
	}
	return fmt.Errorf("store: cannot read time %q", s)
}

// nullTime is a NULL-able time column.
type nullTime struct {
	Time  time.Time
	Valid bool
}

func nullTimeOf(t *time.Time) nullTime {
	if t == nil || t.IsZero() {
		return nullTime{}
	}
	return nullTime{Time: *t, Valid: true}
}

func (n nullTime) Ptr() *time.Time {
	if !n.Valid {
		return nil
	}
	t := n.Time
	return &t
}

func (n nullTime) Value() (driver.Value, error) {
	if !n.Valid {
		return nil, nil
	}
	return dbTime{n.Time}.Value()
}

func (n *nullTime) Scan(v any) error {
	if v == nil {
		*n = nullTime{}
		return nil
	}
	var t dbTime
	if err := t.Scan(v); err != nil {
		return err
	}
	*n = nullTime{Time: t.Time, Valid: true}
	return nil
}
