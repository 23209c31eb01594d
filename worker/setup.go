package worker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/aftersales/aftersales/workflows"
)

// SetupTemporal makes namespace ready for the product on a cluster: it registers
// the namespace with retention when it is missing, then the search attributes of
// workflows.SearchAttributes that it lacks, and waits until both are visible.
// It is idempotent and safe to run from several processes at once (a namespace
// or attribute another process registered meanwhile is taken as done). ctx
// bounds the whole wait.
func SetupTemporal(ctx context.Context, c client.Client, namespace string, retention time.Duration) (done []string, err error) {
	_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	var nf *serviceerror.NamespaceNotFound
	switch {
	case errors.As(err, &nf):
		_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace: namespace, WorkflowExecutionRetentionPeriod: durationpb.New(retention),
			Description: "aftersales tickets"})
		var exists *serviceerror.NamespaceAlreadyExists
		if err != nil && !errors.As(err, &exists) {
			return nil, fmt.Errorf("registering namespace %s: %w", namespace, err)
		}
		if err == nil {
			done = append(done, fmt.Sprintf("namespace %s registered (retention %s)", namespace, retention))
		}
	case err != nil:
		return nil, fmt.Errorf("describing namespace %s: %w", namespace, err)
	}
	// A namespace just registered reaches the frontend's cache a little later:
	// the search attributes are added once it answers for it.
	for {
		added, err := EnsureSearchAttributes(ctx, c, namespace, workflows.SearchAttributes)
		if err == nil {
			for _, a := range added {
				done = append(done, "search attribute "+a+" registered")
			}
			return done, nil
		}
		select {
		case <-ctx.Done():
			return done, fmt.Errorf("namespace %s: %w", namespace, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// MissingSetup names what namespace lacks for the product: the namespace
// itself, or search attributes (missing, or registered with another type). An
// empty answer means it is ready; an error means Temporal could not be asked.
func MissingSetup(ctx context.Context, c client.Client, namespace string) ([]string, error) {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	var nf *serviceerror.NamespaceNotFound
	var notFound *serviceerror.NotFound
	if errors.As(err, &nf) || errors.As(err, &notFound) {
		return []string{"namespace " + namespace}, nil
	} else if err != nil {
		return nil, err
	}
	var missing []string
	for name, typ := range workflows.SearchAttributes {
		if have, ok := resp.GetCustomAttributes()[name]; !ok || have != typ {
			missing = append(missing, "search attribute "+name)
		}
	}
	sort.Strings(missing)
	return missing, nil
}

// EnsureSearchAttributes adds the wanted attributes missing from ns and waits
// until they are listed; it returns the names it added. An attribute registered
// with another type is an error: workflows upserting it would fail.
func EnsureSearchAttributes(ctx context.Context, c client.Client, ns string, want map[string]enumspb.IndexedValueType) ([]string, error) {
	if len(want) == 0 {
		return nil, nil
	}
	missing := func() (map[string]enumspb.IndexedValueType, error) {
		resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		if err != nil {
			return nil, fmt.Errorf("listing search attributes: %w", err)
		}
		out := map[string]enumspb.IndexedValueType{}
		for name, typ := range want {
			have, ok := resp.GetCustomAttributes()[name]
			switch {
			case !ok:
				out[name] = typ
			case have != typ:
				return nil, fmt.Errorf("search attribute %s is registered as %s in namespace %s, wanted %s",
					name, have, ns, typ)
			}
		}
		return out, nil
	}
	add, err := missing()
	if err != nil || len(add) == 0 {
		return nil, err
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        ns,
		SearchAttributes: add,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return nil, fmt.Errorf("adding search attributes: %w", err)
	}
	names := make([]string, 0, len(add))
	for name := range add {
		names = append(names, name)
	}
	sort.Strings(names)
	for {
		left, err := missing()
		if err != nil || len(left) == 0 {
			return names, err
		}
		select {
		case <-ctx.Done():
			return names, fmt.Errorf("search attributes %v not visible yet: %w", left, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
