# syntax=docker/dockerfile:1
# gitgate: a static binary on distroless, running as nonroot (65532).
#   docker build -t registry.example.com/gitgate/gitgate:v0.1.0 --build-arg VERSION=v0.1.0 .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# CGO off: a static binary with no libc, as distroless/static expects.
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/gitgate .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gitgate /gitgate
USER 65532:65532
EXPOSE 9443 8080 8081
ENTRYPOINT ["/gitgate"]
CMD ["serve", "--help"]
