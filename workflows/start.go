package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// StartOptions start a ticket's run as the API does: under its deterministic
// id, with the search attributes of its first state, and refused (an
// AlreadyStarted error) when the ticket's workflow exists, running or closed,
// so that only the request whose start took writes the creation
// (TicketInput.CreationProjected).
func StartOptions(in TicketInput) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID: TicketWorkflowID(in.TicketID), TaskQueue: TaskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    startSearch(in),
	}
}

// startSearch is StartSearchAttributes with the ticket's RMA number, which is
// set once, at the start, and never changes.
func startSearch(in TicketInput) temporal.SearchAttributes {
	sa := StartSearchAttributes(in.Create, in.Policy, in.CreatedAt)
	if in.RMA == "" {
		return sa
	}
	return temporal.NewSearchAttributes(sa.Copy(), SARMA.ValueSet(in.RMA))
}
