// Package deploy holds the files the production topology (docker-compose.yml and
// Dockerfile at the repository root) mounts into its containers: the MySQL init
// script, the Temporal dynamic config and setup scripts, and example secrets.
//
// Its test checks the compose file and the Dockerfile against the code without a
// Docker engine: the environment variables against the flags of cmd/aftersales, the
// search attributes against workflows.SearchAttributes, the image tags against
// go.mod, and the start-up order.
package deploy
