# syntax=docker/dockerfile:1

# Build stage. The golang image sets GOTOOLCHAIN=local, so its Go release
# must be at least the go line of go.mod (1.26.8); the 1.26 tag follows the
# newest 1.26 patch release.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src

# Modules are downloaded in their own layer, which is rebuilt only when
# go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY cmd ./cmd
COPY internal ./internal

# TARGETOS and TARGETARCH are set by BuildKit, so one Dockerfile cross-builds
# every platform that docker buildx build --platform asks for.
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/oktawatch ./cmd/oktawatch

# Runtime stage: a static binary on distroless, with no shell and no package
# manager. 65532 is the nonroot user of the distroless image; it is given as a
# number so that Kubernetes runAsNonRoot can verify it.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/oktawatch /oktawatch
USER 65532:65532
EXPOSE 8080

# The healthcheck subcommand requests http://127.0.0.1:8080/livez. If you
# change OKTAWATCH_LISTEN_ADDR, override this check with --url.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/oktawatch", "healthcheck"]

ENTRYPOINT ["/oktawatch"]
CMD ["serve"]
