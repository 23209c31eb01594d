// Package worker registers the product's workflows and activities on a Temporal worker.
package worker

import (
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aftersales/aftersales/activities"
	"github.com/aftersales/aftersales/workflows"
)

// Register adds every workflow and the activities to r. Workflows are registered
// under their Go names, which are part of the contract with running histories.
func Register(r sdkworker.Registry, a *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.TicketWorkflow, workflow.RegisterOptions{Name: "TicketWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.EscalationWorkflow, workflow.RegisterOptions{Name: "EscalationWorkflow"})
	r.RegisterWorkflowWithOptions(workflows.ShippingWatchWorkflow, workflow.RegisterOptions{Name: "ShippingWatchWorkflow"})
	r.RegisterActivity(a)
}

// New returns a worker on the product's task queue. Many workers may run against
// one namespace; none holds state of its own.
func New(c client.Client, a *activities.Activities) sdkworker.Worker {
	w := sdkworker.New(c, workflows.TaskQueue, Options())
	Register(w, a)
	return w
}

// Options are the worker's options (the bench's floor worker takes the same).
func Options() sdkworker.Options {
	return sdkworker.Options{
		// Graceful stop lets running activities (a refund call) finish before exit.
		WorkerStopTimeout: 10e9,
		// A ticket's workflow tasks are short (a few ms) and come in bursts from
		// many tickets at once: with the default two pollers, shared between the
		// sticky and the normal queue, a task waited tens of ms for one to be free.
		// Effects run first as local activities, so the activity pollers stay at
		// the default.
		MaxConcurrentWorkflowTaskPollers: 8,
	}
}
