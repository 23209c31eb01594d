package models

// Kind is what the buyer asks for.
type Kind string

const (
	KindRefundOnly      Kind = "refund_only"      // 仅退款
	KindReturnRefund    Kind = "return_refund"    // 退货退款
	KindExchange        Kind = "exchange"         // 换货
	KindRepair          Kind = "repair"           // 维修
	KindPriceProtection Kind = "price_protection" // 价保
)

// Kinds lists every kind, in the order the API documents them.
var Kinds = []Kind{KindRefundOnly, KindReturnRefund, KindExchange, KindRepair, KindPriceProtection}

// NeedsReturn reports whether the goods travel back to the seller for this kind.
func (k Kind) NeedsReturn() bool {
	return k == KindReturnRefund || k == KindExchange || k == KindRepair
}

// ReturnMethod is how the goods travel back.
type ReturnMethod string

const (
	ReturnPickup         ReturnMethod = "pickup"           // 上门取件
	ReturnSelfShip       ReturnMethod = "self_ship"        // 客户发货
	ReturnSwapOnDelivery ReturnMethod = "swap_on_delivery" // 上门换新
	ReturnNone           ReturnMethod = "none"
)

// ReturnMethods lists every return method.
var ReturnMethods = []ReturnMethod{ReturnPickup, ReturnSelfShip, ReturnSwapOnDelivery, ReturnNone}

// ReasonCode is the buyer's reason, which decides who pays return shipping and
// whether a restocking fee may be deducted.
type ReasonCode string

const (
	ReasonQuality        ReasonCode = "quality"
	ReasonDamaged        ReasonCode = "damaged"
	ReasonWrongItem      ReasonCode = "wrong_item"
	ReasonNotAsDescribed ReasonCode = "not_as_described"
	ReasonNotReceived    ReasonCode = "not_received"
	ReasonNoReason       ReasonCode = "no_reason"
	ReasonPriceDrop      ReasonCode = "price_drop"
	ReasonOther          ReasonCode = "other"
)

// ReasonCodes lists every reason code.
var ReasonCodes = []ReasonCode{ReasonQuality, ReasonDamaged, ReasonWrongItem, ReasonNotAsDescribed,
	ReasonNotReceived, ReasonNoReason, ReasonPriceDrop, ReasonOther}

// SellerFault reports whether the reason puts the fault on the seller: the seller
// then pays return shipping and may not deduct a restocking fee.
func (r ReasonCode) SellerFault() bool {
	switch r {
	case ReasonQuality, ReasonDamaged, ReasonWrongItem, ReasonNotAsDescribed, ReasonNotReceived:
		return true
	}
	return false
}

// State is where a ticket is in its lifecycle. The names are the API's.
type State string

const (
	StatePendingReview         State = "pending_review"
	StateNegotiating           State = "negotiating"
	StateRejected              State = "rejected"
	StateAwaitingPickup        State = "awaiting_pickup"
	StateAwaitingBuyerShipment State = "awaiting_buyer_shipment"
	StateInTransit             State = "in_transit"
	StateAwaitingInspection    State = "awaiting_inspection"
	StateRefunding             State = "refunding"
	StateReplacementShipping   State = "replacement_shipping"
	StateRepairing             State = "repairing"
	StateEscalated             State = "escalated"
	StateRecovering            State = "recovering"
	StateCompleted             State = "completed"
	StateClosed                State = "closed"
)

// States lists every state.
var States = []State{StatePendingReview, StateNegotiating, StateRejected, StateAwaitingPickup,
	StateAwaitingBuyerShipment, StateInTransit, StateAwaitingInspection, StateRefunding,
	StateReplacementShipping, StateRepairing, StateEscalated, StateRecovering, StateCompleted, StateClosed}

// Terminal reports whether no further transition is possible.
func (s State) Terminal() bool { return s == StateCompleted || s == StateClosed }

// Outcome is how a ticket ended.
type Outcome string

const (
	OutcomeRefunded          Outcome = "refunded"
	OutcomePartiallyRefunded Outcome = "partially_refunded"
	OutcomeExchanged         Outcome = "exchanged"
	OutcomeSwapped           Outcome = "swapped"
	OutcomeRepaired          Outcome = "repaired"
	OutcomeCompensated       Outcome = "compensated"
	OutcomePriceProtected    Outcome = "price_protected"

	OutcomeWithdrawn        Outcome = "withdrawn"
	OutcomeExpired          Outcome = "expired"
	OutcomeRejected         Outcome = "rejected"
	OutcomePlatformDeclined Outcome = "platform_declined"
	OutcomeRecovered        Outcome = "recovered"
)

// Role is who calls the API.
type Role string

const (
	RoleBuyer    Role = "buyer"
	RoleSeller   Role = "seller"
	RolePlatform Role = "platform"
	RoleAdmin    Role = "admin"
	RoleSystem   Role = "system" // timers, couriers and payment providers
)

// Roles lists the roles a key may have.
var Roles = []Role{RoleBuyer, RoleSeller, RolePlatform, RoleAdmin}

func oneOf[T comparable](v T, all []T) bool {
	for _, a := range all {
		if a == v {
			return true
		}
	}
	return false
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return oneOf(k, Kinds) }

// Valid reports whether m is a known return method.
func (m ReturnMethod) Valid() bool { return oneOf(m, ReturnMethods) }

// Valid reports whether r is a known reason code.
func (r ReasonCode) Valid() bool { return oneOf(r, ReasonCodes) }

// Valid reports whether s is a known state.
func (s State) Valid() bool { return oneOf(s, States) }

// Valid reports whether r is a role a key may carry.
func (r Role) Valid() bool { return oneOf(r, Roles) }
