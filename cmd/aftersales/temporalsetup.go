package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aftersales/aftersales/worker"
)

// runTemporalSetup registers the namespace (when missing) and the product's
// search attributes on a Temporal cluster, and prints what it did. Idempotent,
// safe from several processes at once; run it before the first api or worker.
func runTemporalSetup(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("temporal-setup", flag.ContinueOnError)
	var t temporalFlags
	t.register(fs)
	retention := fs.Duration("retention", 72*time.Hour, "how long Temporal keeps a closed ticket's history (the read model keeps its audit trail)")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for the cluster to show what was registered")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *retention < 24*time.Hour {
		return fmt.Errorf("--retention %s: Temporal keeps closed histories at least 24h", *retention)
	}
	c, err := dialTemporal(t, slog.New(slog.NewTextHandler(io.Discard, nil)), newRegistry())
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	done, err := worker.SetupTemporal(ctx, c, t.namespace, *retention)
	for _, d := range done {
		fmt.Fprintln(os.Stdout, d)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "namespace %s is ready\n", t.namespace)
	return nil
}
