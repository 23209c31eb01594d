package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

// The read-model benchmark. It seeds AFTERSALES_BENCH_TICKETS tickets (default
// 20 000, so CI runs it in seconds) over 20 shops, 5 000 buyers and 90 days,
// six timeline entries each, on SQLite and, when AFTERSALES_TEST_MYSQL_DSN is
// set, on MySQL (AFTERSALES_BENCH_MYSQL_TICKETS, default the same size). Each
// query is then timed AFTERSALES_BENCH_SAMPLES times (default 200, fewer when a
// query takes over 20 s in all) and reported as p50 and p99 in milliseconds.
// Run it once per sub-benchmark:
//
//	AFTERSALES_BENCH_TICKETS=1000000 go test ./store -run '^$' -bench ReadModel -benchtime=1x -timeout 2h
func BenchmarkReadModel(b *testing.B) {
	n := envInt(b, "AFTERSALES_BENCH_TICKETS", 20_000, 100)
	b.Run("sqlite", func(b *testing.B) {
		db, err := Open("sqlite:" + filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		benchReadModel(b, db, n)
	})
	b.Run("mysql", func(b *testing.B) {
		url := os.Getenv(mysqlEnv)
		if url == "" {
			b.Skip("set AFTERSALES_TEST_MYSQL_DSN to bench MySQL too")
		}
		benchReadModel(b, freshMySQL(b, url), envInt(b, "AFTERSALES_BENCH_MYSQL_TICKETS", n, 100))
	})
}

func envInt(b *testing.B, name string, def, least int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
	if err != nil || n < least {
		b.Fatalf("%s=%q: want a whole number of at least %d", name, v, least)
	}
	return n
}

// benchQuery is one timed read: a query built from a random draw.
type benchQuery struct {
	name string
	run  func(ctx context.Context, r *rand.Rand) error
}

func benchReadModel(b *testing.B, db *DB, n int) {
	ctx := context.Background()
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	s := seedShape{Tickets: n, Shops: 20, Buyers: 5000, Days: 90, Now: benchNow, Seed: 20}
	start := time.Now()
	last := start
	err := s.seed(ctx, db, func(done int) {
		if time.Since(last) > 30*time.Second {
			last = time.Now()
			fmt.Printf("seeded %d of %d tickets in %s", done, n, time.Since(start).Round(time.Second))
			fmt.Println()
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("%s: seeded %d tickets (%d timeline entries) in %s\n", db.Dialect(), n, 6*n, time.Since(start).Round(time.Millisecond))

	samples := envInt(b, "AFTERSALES_BENCH_SAMPLES", 200, 1)
	var table []string
	for _, q := range benchQueries(db, s) {
		b.Run(q.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(7, uint64(len(q.name))))
			var took []time.Duration
			for i := 0; i < b.N; i++ {
				began := time.Now()
				for k := 0; k < samples && (k < 5 || time.Since(began) < 20*time.Second); k++ {
					t0 := time.Now()
					if err := q.run(ctx, r); err != nil {
						b.Fatal(err)
					}
					took = append(took, time.Since(t0))
				}
			}
			p50, p99 := percentile(took, 0.50), percentile(took, 0.99)
			b.ReportMetric(ms(p50), "p50-ms")
			b.ReportMetric(ms(p99), "p99-ms")
			table = append(table, fmt.Sprintf("| %s | %.2f | %.2f | %d |", q.name, ms(p50), ms(p99), len(took)))
		})
	}
	fmt.Printf("%s, %d tickets:\n| query | p50 ms | p99 ms | samples |\n|---|---|---|---|\n%s",
		db.Dialect(), n, strings.Join(table, "\n")+"\n")
}

// benchQueries are the reads the API serves, with the parameters it passes.
func benchQueries(db *DB, s seedShape) []benchQuery {
	pick := func(r *rand.Rand) (int, string) {
		i := r.IntN(s.Tickets)
		return i, s.seedTicket(i).ShopID
	}
	shop := func(r *rand.Rand) string { return fmt.Sprintf("shop-%02d", 1+r.IntN(s.Shops)) }
	period := models.SLAFilter{From: s.Now.Add(-90 * 24 * time.Hour), To: s.Now}
	return []benchQuery{
		{"get", func(ctx context.Context, r *rand.Rand) error {
			i, _ := pick(r)
			_, err := db.GetTicket(ctx, s.seedTicket(i).ID)
			return err
		}},
		{"list_shop_first_page", func(ctx context.Context, r *rand.Rand) error {
			_, err := db.ListTickets(ctx, models.TicketFilter{ShopID: shop(r)})
			return err
		}},
		{"list_shop_deep_page", func(ctx context.Context, r *rand.Rand) error {
			// The page after a random ticket of its shop: where a client paging
			// with next_cursor would be at some point.
			t := s.seedTicket(r.IntN(s.Tickets))
			_, err := db.ListTickets(ctx, models.TicketFilter{ShopID: t.ShopID, Cursor: encodeCursor(t.CreatedAt, t.ID)})
			return err
		}},
		{"list_shop_state", func(ctx context.Context, r *rand.Rand) error {
			t := s.seedTicket(r.IntN(s.Tickets)) // states weighted as they occur
			_, err := db.ListTickets(ctx, models.TicketFilter{ShopID: shop(r), State: string(t.State)})
			return err
		}},
		{"deadline_before_pages", benchDeadlinePaging(db, s, shop)},
		{"sla_one_shop_90d", func(ctx context.Context, r *rand.Rand) error {
			f := period
			f.ShopID = shop(r)
			_, err := db.SLAReport(ctx, f)
			return err
		}},
		{"sla_all_shops_90d", func(ctx context.Context, r *rand.Rand) error {
			_, err := db.SLAReport(ctx, period)
			return err
		}},
		{"warnings_one_shop", func(ctx context.Context, r *rand.Rand) error {
			_, err := db.Warnings(ctx, shop(r), 24*time.Hour, s.Now, 50)
			return err
		}},
		{"warnings_all_shops", func(ctx context.Context, r *rand.Rand) error {
			_, err := db.Warnings(ctx, "", 24*time.Hour, s.Now, 50)
			return err
		}},
	}
}

// benchDeadlinePaging times each page of a shop's tickets whose deadline falls
// within a day, paged with next_cursor; each call reads the next page, and
// starts over with another shop after the last.
func benchDeadlinePaging(db *DB, s seedShape, shop func(*rand.Rand) string) func(context.Context, *rand.Rand) error {
	var f models.TicketFilter
	return func(ctx context.Context, r *rand.Rand) error {
		if f.ShopID == "" {
			before := s.Now.Add(24 * time.Hour)
			f = models.TicketFilter{ShopID: shop(r), DeadlineBefore: &before}
		}
		page, err := db.ListTickets(ctx, f)
		f.Cursor = page.NextCursor
		if page.NextCursor == "" {
			f = models.TicketFilter{}
		}
		return err
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	k := int(p*float64(len(s))+0.999999) - 1
	return s[min(max(k, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
