package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/aftersales/aftersales/models"
)

// claimBody is models.CreateTicket as external_id claims have always hashed
// it: every field written but external_id, exchange_sku and pickup_address
// when empty. The type's own encoding leaves out more (an order, credit or
// recent returns not stated); hashing this fixed form keeps a retry of a
// create sent before that change matched to its claim instead of a 409. The
// conversion claimBody(req) compiles only while the fields are the same, so a
// field added to the create is added here too.
type claimBody struct {
	OrderID        string              `json:"order_id"`
	ShopID         string              `json:"shop_id"`
	BuyerID        string              `json:"buyer_id"`
	Kind           models.Kind         `json:"kind"`
	ReasonCode     models.ReasonCode   `json:"reason_code"`
	Reason         string              `json:"reason"`
	ReturnMethod   models.ReturnMethod `json:"return_method"`
	RequestedCents int64               `json:"requested_cents"`
	Currency       string              `json:"currency"`
	Order          models.OrderInfo    `json:"order"`
	Items          []models.Item       `json:"items"`
	ExternalID     string              `json:"external_id,omitempty"`
	BuyerCredit    int                 `json:"buyer_credit"`
	ExchangeSKU    string              `json:"exchange_sku,omitempty"`
	PickupAddress  string              `json:"pickup_address,omitempty"`
	OverrideNote   string              `json:"override_note,omitempty"`
	RecentReturns  int                 `json:"recent_returns"`
}

// createHash is the hash an external_id claim keeps of a create: of the
// request as the client sent it, normalized.
func createHash(req models.CreateTicket) string {
	canon, _ := json.Marshal(claimBody(req))
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:])
}
