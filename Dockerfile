# syntax=docker/dockerfile:1
#
# The aftersales binary (api | worker | migrate | dev | bench) on Debian slim.
#   docker build -t aftersales:local .
#   docker run --rm aftersales:local migrate --help
# The first build compiles the embedded Temporal server too (several minutes on two
# cores); the module and build caches below make later builds quick.

# Keep the major.minor in step with the go line of go.mod (deploy/compose_test.go
# checks it).
ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly
# No separate `go mod download` layer: with the cache mounts below, go build fetches
# only the modules the binary needs, once.
COPY . .
# Cross-compiles for the target platform (docker buildx build --platform ...).
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/aftersales ./cmd/aftersales

FROM debian:bookworm-slim
# ca-certificates: TLS to Temporal Cloud and provider APIs; curl: the compose
# healthcheck of the api (GET /healthz); tzdata: time zones for the Go runtime.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 aftersales \
    && useradd --system --uid 10001 --gid aftersales --home-dir /nonexistent \
       --no-create-home --shell /usr/sbin/nologin aftersales \
    && install -d -o 10001 -g 10001 /var/lib/aftersales
# /var/lib/aftersales: the providers' ledgers (a volume in the compose file).
COPY --from=build /out/aftersales /usr/local/bin/aftersales
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/aftersales"]
CMD ["api"]
