# weft's image: weft-agent, weft-controller, the weft CLI and weft-cni on top of FRR 10.3, so the agent
# pod's two containers (agent and FRR) run the same image and the agent finds vtysh and
# frr-reload.py where FRR installs them.
#
#   docker build -t ghcr.io/weftnet/weft:0.1.0 .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api ./api
COPY cmd ./cmd
COPY internal ./internal
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/ ./cmd/weft-agent ./cmd/weft-controller ./cmd/weft ./cmd/weft-cni

# FRR is Debian 13's package, the very source package the tests build and run
# (hack/build-frr10.sh, internal/frrinstall.FRR10Release; test/deploy's
# TestImageShipsTheTestedFRR keeps the three equal): what is shipped is what is tested.
FROM debian:trixie-slim
ARG FRR_VERSION=10.3-3+deb13u1
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      frr=${FRR_VERSION} frr-pythontools=${FRR_VERSION} iproute2 python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/bin/
COPY hack/frr-start.sh /usr/local/bin/weft-frr-start
# The controller runs as this user (the chart sets runAsUser); the agent and FRR as root.
USER 0
ENTRYPOINT []
