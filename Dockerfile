# syntax=docker/dockerfile:1
# The secretbridge controller image: a static Go binary on distroless, run as
# a non-root user. Multi-arch: build with
#   docker buildx build --platform linux/amd64,linux/arm64 .
# The build stage cross-compiles for TARGETOS/TARGETARCH on the builder's own
# platform, so no emulation is needed.
#
# test/chart/image_test.go runs this file's `go build` RUN line verbatim and
# checks that the result is static: keep the command on that one RUN line.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
ARG OUT_DIR=/out
WORKDIR /src
# Dependencies first, so a source change reuses the module layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS="${TARGETOS}" GOARCH="${TARGETARCH}" \
    go build -trimpath -ldflags "-s -w -X github.com/secretbridge/secretbridge/internal/version.Version=${VERSION}" \
    -o "${OUT_DIR}/secretbridge" ./cmd/secretbridge

# distroless/static has CA certificates and /etc/passwd but no shell or libc;
# the binary needs neither.
FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/secretbridge /usr/local/bin/secretbridge
# 65532 is distroless's "nonroot"; numeric so runAsNonRoot can verify it.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/secretbridge"]
CMD ["controller"]
