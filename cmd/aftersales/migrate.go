package main

import (
	"context"
	"flag"
	"fmt"
	"os"
)

// runMigrate creates or upgrades the schema and prints what it applied.
func runMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	url := fs.String("database-url", "", "mysql://user:pass@tcp(host:3306)/db or sqlite:PATH (env AFTERSALES_DATABASE_URL)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *url == "" {
		return fmt.Errorf("set --database-url or AFTERSALES_DATABASE_URL")
	}
	db, err := openStore(ctx, *url, false)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	v, _ := db.SchemaVersion(ctx)
	for _, m := range applied {
		fmt.Fprintln(os.Stdout, "applied", m)
	}
	fmt.Fprintf(os.Stdout, "schema at version %d (%s)\n", v, db.Dialect())
	return nil
}
