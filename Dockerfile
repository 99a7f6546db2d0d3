# syntax=docker/dockerfile:1
# gitgate: a static binary on distroless, running as nonroot (65532).
#   docker build -t registry.example.com/gitgate/gitgate:v0.1.0 --build-arg VERSION=v0.1.0 \
#     --build-arg COMMIT=$(git rev-parse HEAD) --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# The build context has no .git, so the commit and date come as arguments
# (gitgate version and gitgate_build_info show them).
ARG COMMIT=unknown
ARG DATE=unknown
# CGO off: a static binary with no libc, as distroless/static expects.
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X github.com/gitgate/gitgate/cli.version=${VERSION} -X github.com/gitgate/gitgate/cli.commit=${COMMIT} -X github.com/gitgate/gitgate/cli.date=${DATE}" -o /out/gitgate .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gitgate /gitgate
USER 65532:65532
EXPOSE 9443 8080 8081
ENTRYPOINT ["/gitgate"]
CMD ["serve", "--help"]
