# syntax=docker/dockerfile:1
#
# One image for every subcommand: the Kubernetes manifests run it as
# `serve`, `worker` and `migrate` (deploy/k8s).
#
#   docker build -t ghcr.io/intercom-sync/intercom-sync:<tag> .

# The builder runs on the build machine's platform and cross-compiles, so
# a multi-platform build (docker buildx --platform) needs no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
# CGO off: a static binary for the distroless static image (pgx and the
# MySQL driver are pure Go). -trimpath keeps build paths out of the binary.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/intercom-sync ./cmd/intercom-sync

# static: CA certificates and tzdata, no shell, no package manager.
# nonroot: uid/gid 65532, matching the manifests' securityContext.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/intercom-sync /intercom-sync
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/intercom-sync"]
