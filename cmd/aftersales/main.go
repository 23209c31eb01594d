// Command aftersales runs the after-sales engine: `dev` (everything in one process on
// an embedded Temporal server and SQLite), `api` and `worker` (against a Temporal
// cluster and MySQL), `migrate` and `bench`. Wiring lives here and nowhere else.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

var commands = map[string]func(ctx context.Context, args []string) error{
	"dev":            runDev,
	"api":            runAPI,
	"worker":         runWorker,
	"migrate":        runMigrate,
	"temporal-setup": runTemporalSetup,
	"providers":      runProviders,
	"bench":          runBench,
}

const usage = `aftersales: durable after-sales tickets on Temporal

usage: aftersales <command> [flags]

commands:
  dev      everything in one process: embedded Temporal + Web UI, worker, API, SQLite
  api      the HTTP API against TEMPORAL_ADDRESS and AFTERSALES_DATABASE_URL
  worker   the Temporal worker against TEMPORAL_ADDRESS and AFTERSALES_DATABASE_URL
  migrate  create or upgrade the database schema
  temporal-setup
           register the Temporal namespace (if missing) and the search attributes
  providers
           the simulated courier and payment provider as a process of their own, over HTTP
  bench    drive full ticket lifecycles against the floor of the same server and report

Run 'aftersales <command> -h' for its flags. Every flag also reads AFTERSALES_<FLAG>
from the environment (--data-dir: AFTERSALES_DATA_DIR).
`

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := commands[os.Args[1]](ctx, os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "aftersales "+os.Args[1]+": "+err.Error())
		os.Exit(1)
	}
}
