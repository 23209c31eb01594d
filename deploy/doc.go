// Package deploy holds the files the production topology (docker-compose.yml and
// Dockerfile at the repository root) mounts into its containers: the Temporal
// dynamic config and its schema and setup scripts, and example secrets.
// deploy/cluster runs the same topology without Docker (see its up.sh).
//
// Its test checks the compose file and the Dockerfile against the code without a
// Docker engine: the environment variables against the flags of cmd/aftersales, the
// search attributes against workflows.SearchAttributes, the image tags against
// go.mod, and the start-up order.
package deploy
