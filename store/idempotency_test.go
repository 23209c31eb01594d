package store

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aftersales/aftersales/models"
)

func TestClaimIdempotencyKey(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		c, err := db.ClaimIdempotencyKey(ctx, "create:buyer-1", "k1", "hash-a", "T1")
		if err != nil || c != (models.IdempotencyClaim{TicketID: "T1", BodyHash: "hash-a", New: true}) {
			t.Fatalf("first claim = %+v, %v", c, err)
		}
		// Same key, other body and ticket: the first claim is returned.
		c, err = db.ClaimIdempotencyKey(ctx, "create:buyer-1", "k1", "hash-b", "T2")
		if err != nil || c != (models.IdempotencyClaim{TicketID: "T1", BodyHash: "hash-a", New: false}) {
			t.Fatalf("second claim = %+v, %v", c, err)
		}
		// Scopes are separate.
		c, err = db.ClaimIdempotencyKey(ctx, "create:buyer-2", "k1", "hash-b", "T2")
		if err != nil || !c.New {
			t.Fatalf("claim in another scope = %+v, %v", c, err)
		}
		_, err = db.ClaimIdempotencyKey(ctx, "create:buyer-1", "", "h", "T")
		wantCode(t, err, models.EINVALID, "Idempotency-Key must have 1 to 255 characters")
	})
}

func TestClaimIdempotencyKeyRace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		const n = 20
		var wg sync.WaitGroup
		claims := make([]models.IdempotencyClaim, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				claims[i], errs[i] = db.ClaimIdempotencyKey(context.Background(), "create", "race", fmt.Sprintf("h%d", i), fmt.Sprintf("T%d", i))
			}(i)
		}
		close(start)
		wg.Wait()
		winners := 0
		var winner models.IdempotencyClaim
		for i := 0; i < n; i++ {
			if errs[i] != nil {
				t.Fatalf("claim %d: %v", i, errs[i])
			}
			if claims[i].New {
				winners++
				winner = claims[i]
			}
		}
		if winners != 1 {
			t.Fatalf("%d claims were New, want exactly 1", winners)
		}
		for i, c := range claims {
			if c.TicketID != winner.TicketID || c.BodyHash != winner.BodyHash {
				t.Fatalf("claim %d = %+v, want the winner's %+v", i, c, winner)
			}
		}
	})
}
