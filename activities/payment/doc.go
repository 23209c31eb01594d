// Package payment holds two implementations of activities.Payment: Simulator, an
// in-process payment provider with its own ledger that calls our payment webhook by
// itself (for `aftersales dev`, demos and tests), and HTTP, a client for a payment
// provider's JSON API.
//
// Both honour the one rule the refund guarantee rests on (DESIGN §5): a money
// movement is identified by its idempotency key ("<ticket id>:refund:<n>" and the
// like) and the provider pays a key at most once, however often it is called.
//
// # Provider protocol (HTTP)
//
// Every request carries `Authorization: Bearer <APIKey>`; every POST carries
// `Idempotency-Key: <key>` and `Content-Type: application/json`.
//
//	POST {base}/refunds          refund to the buyer
//	POST {base}/compensations    compensation to the buyer (delayed shipment, negotiation)
//	POST {base}/recoveries       charge back a lightning refund (闪电催收)
//	POST {base}/freight-claims   freight insurance claim (运费险)
//	     body {"key","ticket_id","order_id","amount_cents","currency"}
//	     → 200/201/202 {"key","status":"sent|succeeded|failed","provider_ref","reason"}
//	     → 409 when the key was already used: the client fetches and returns that record
//	GET  {base}/payments/{key}   → 200 the same record shape, 404 when the key is unknown
//
// Errors: 5xx, 408, 429, network errors and per-attempt timeouts are retried with
// exponential backoff (HTTP.Retries times) under the same Idempotency-Key; any other
// 4xx is final and returned as a *ProviderError naming the status and the answer.
//
// # Webhooks
//
// The result of a payment reaches us as POST /v1/webhooks/payment with a
// models.PaymentEvent body {event_id, ticket_id, refund_key, status: succeeded|failed,
// provider_ref, reason}, signed as package webhook describes. The simulator's event
// ids are "<provider_ref>:<status>", so a duplicate delivery is recognisable.
package payment

// WebhookPath is where payment providers post results on our API.
const WebhookPath = "/v1/webhooks/payment"
