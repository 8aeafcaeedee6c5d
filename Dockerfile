# weft's image: weft-agent, weft-controller, the weft CLI and weft-cni on top of FRR 10, so the agent
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

FROM quay.io/frrouting/frr:10.4.1
# ip netns exec (FRR container) and the agent's python for frr-reload.py come with the base;
# iproute2 is the full one, busybox's ip lacks netns exec.
RUN apk add --no-cache iproute2
COPY --from=build /out/ /usr/local/bin/
COPY hack/frr-start.sh /usr/local/bin/weft-frr-start
# The controller runs as this user (the chart sets runAsUser); the agent and FRR as root.
USER 0
ENTRYPOINT []
