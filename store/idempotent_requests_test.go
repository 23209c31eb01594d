package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aftersales/aftersales/models"
)

func TestIdempotentRequestLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		c, err := db.ClaimIdempotentRequest(ctx, "buyer:b1", "k1", "hash-a", "T1", time.Minute)
		if err != nil || !c.New || c.TicketID != "T1" || c.Status != 0 {
			t.Fatalf("first claim = %+v, %v", c, err)
		}
		// While it runs, a repeat learns that it runs, with the first ticket id.
		c, err = db.ClaimIdempotentRequest(ctx, "buyer:b1", "k1", "hash-a", "T2", time.Minute)
		if err != nil || c.New || c.TicketID != "T1" || c.Status != 0 {
			t.Fatalf("claim while running = %+v, %v", c, err)
		}
		if err := db.FinishIdempotentRequest(ctx, "buyer:b1", "k1", 201, "application/json", []byte(`{"id":"T1"}`)); err != nil {
			t.Fatal(err)
		}
		c, err = db.ClaimIdempotentRequest(ctx, "buyer:b1", "k1", "hash-b", "T3", time.Minute)
		if err != nil || c.New || c.RequestHash != "hash-a" || c.Status != 201 || string(c.Response) != `{"id":"T1"}` || c.ContentType != "application/json" {
			t.Fatalf("claim after the answer = %+v, %v", c, err)
		}
		// Principals are separate.
		if c, err = db.ClaimIdempotentRequest(ctx, "buyer:b2", "k1", "hash-a", "T4", time.Minute); err != nil || !c.New {
			t.Fatalf("another principal's claim = %+v, %v", c, err)
		}
		// A released key runs again.
		if err := db.ReleaseIdempotentRequest(ctx, "buyer:b2", "k1"); err != nil {
			t.Fatal(err)
		}
		if c, err = db.ClaimIdempotentRequest(ctx, "buyer:b2", "k1", "hash-c", "T5", time.Minute); err != nil || !c.New || c.TicketID != "T5" {
			t.Fatalf("claim after release = %+v, %v", c, err)
		}
		// A finished answer is never released.
		if err := db.ReleaseIdempotentRequest(ctx, "buyer:b1", "k1"); err != nil {
			t.Fatal(err)
		}
		if c, _ = db.ClaimIdempotentRequest(ctx, "buyer:b1", "k1", "hash-a", "T6", time.Minute); c.Status != 201 {
			t.Fatalf("released a finished answer: %+v", c)
		}
		// Purging keeps what is younger than the cut.
		if n, err := db.PurgeIdempotentRequests(ctx, time.Now().Add(-7*24*time.Hour)); err != nil || n != 0 {
			t.Fatalf("purge of young answers = %d, %v", n, err)
		}
		if n, err := db.PurgeIdempotentRequests(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
			t.Fatalf("purge = %d, %v; want the one finished answer", n, err)
		}
	})
}

// A claim whose request died is taken over once it is stale, by one caller only,
// with the first claim's ticket id.
func TestIdempotentRequestTakeover(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if _, err := db.ClaimIdempotentRequest(ctx, "seller:s1", "crash", "h", "T1", time.Minute); err != nil {
			t.Fatal(err)
		}
		const n = 10
		var wg sync.WaitGroup
		claims := make([]models.IdempotentRequest, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				claims[i], errs[i] = db.ClaimIdempotentRequest(ctx, "seller:s1", "crash", "h", fmt.Sprintf("X%d", i), 0)
			}(i)
		}
		wg.Wait()
		took := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if claims[i].TicketID != "T1" {
				t.Errorf("takeover %d got ticket %q, want the first claim's T1", i, claims[i].TicketID)
			}
			if claims[i].New {
				took++
			}
		}
		if took < 1 {
			t.Errorf("%d callers took the stale claim over, want at least 1", took)
		}
	})
}

func TestWebhookEvents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		got, err := db.ReceiveWebhookEvent(ctx, "courier", "e1", "h1", []byte(`{"event_id":"e1"}`))
		if err != nil || got != (models.WebhookEvent{SameBody: true}) {
			t.Fatalf("first = %+v, %v", got, err)
		}
		// Not delivered yet (the signal failed): the retry goes through.
		if got, err = db.ReceiveWebhookEvent(ctx, "courier", "e1", "h1", []byte(`{"event_id":"e1"}`)); err != nil || got != (models.WebhookEvent{SameBody: true}) {
			t.Fatalf("retry before delivery = %+v, %v", got, err)
		}
		if err := db.MarkWebhookDelivered(ctx, "courier", "e1"); err != nil {
			t.Fatal(err)
		}
		if got, err = db.ReceiveWebhookEvent(ctx, "courier", "e1", "h1", []byte(`{"event_id":"e1"}`)); err != nil || got != (models.WebhookEvent{Delivered: true, SameBody: true}) {
			t.Fatalf("repeat = %+v, %v", got, err)
		}
		if got, _ = db.ReceiveWebhookEvent(ctx, "courier", "e1", "h2", []byte(`{"event_id":"e1"}`)); got.SameBody {
			t.Fatalf("another body under the same id = %+v", got)
		}
		// Providers have their own ids.
		if got, _ = db.ReceiveWebhookEvent(ctx, "payment", "e1", "h2", []byte(`{"event_id":"e1"}`)); got.Delivered || !got.SameBody {
			t.Fatalf("the payment provider's e1 = %+v", got)
		}
	})
}

// The relay's work: events recorded and not delivered, older than the cutoff,
// oldest first, with the body their provider signed; delivered ones and newer
// ones are left out.
func TestPendingWebhookEvents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		for _, id := range []string{"p1", "p2", "p3"} {
			if _, err := db.ReceiveWebhookEvent(ctx, "payment", id, "h-"+id, []byte(`{"event_id":"`+id+`"}`)); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.MarkWebhookDelivered(ctx, "payment", "p2"); err != nil {
			t.Fatal(err)
		}
		if got, err := db.PendingWebhookEvents(ctx, time.Now().Add(-time.Hour), 10); err != nil || len(got) != 0 {
			t.Fatalf("events received before an hour ago: %+v, %v", got, err)
		}
		got, err := db.PendingWebhookEvents(ctx, time.Now().Add(time.Second), 10)
		if err != nil || len(got) != 2 || got[0].EventID != "p1" || got[1].EventID != "p3" || string(got[1].Body) != `{"event_id":"p3"}` {
			t.Fatalf("pending = %+v, %v; want p1 and p3 with their bodies", got, err)
		}
		if got, _ := db.PendingWebhookEvents(ctx, time.Now().Add(time.Second), 1); len(got) != 1 {
			t.Fatalf("limit 1 gave %d", len(got))
		}
	})
}

// A request that ended without an answer leaves its claim to the next retry at
// once, with the ticket id reserved first: a create that may have started its
// workflow is never started under a second id.
func TestIdempotentRequestUnfinished(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if _, err := db.ClaimIdempotentRequest(ctx, "buyer:b1", "hung-up", "h", "T1", time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := db.UnfinishIdempotentRequest(ctx, "buyer:b1", "hung-up"); err != nil {
			t.Fatal(err)
		}
		c, err := db.ClaimIdempotentRequest(ctx, "buyer:b1", "hung-up", "h", "T2", time.Hour)
		if err != nil || !c.New || c.TicketID != "T1" {
			t.Fatalf("retry after an unanswered request = %+v, %v; want it to run again as T1", c, err)
		}
	})
}
