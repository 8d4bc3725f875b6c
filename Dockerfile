# syntax=docker/dockerfile:1
# Heatbath: a static binary in a distroless image that runs as a non-root
# user. Build and try:
#   docker build -t heatbath .
#   docker run --rm heatbath --help
# The image's entrypoint is heatbath: `docker run heatbath worker --nats ...`.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# A static binary: no cgo, no paths of the build machine in it.
ENV CGO_ENABLED=0 GOOS=linux GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/heatbath ./cmd/heatbath
# The working directory of the final image, owned by its user (a named
# volume mounted on /work/runs starts with this owner).
RUN mkdir -p /out/work/runs && chown -R 65532:65532 /out/work

# distroless/static: CA certificates, tzdata and /etc/passwd, no shell.
FROM gcr.io/distroless/static-debian12:nonroot AS final
COPY --from=build /out/heatbath /usr/local/bin/heatbath
COPY --from=build --chown=65532:65532 /out/work /work
COPY --chown=65532:65532 examples /work/examples
WORKDIR /work
USER 65532:65532
# Workers serve probes here when started with --health :8080.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/heatbath"]
CMD ["--help"]
