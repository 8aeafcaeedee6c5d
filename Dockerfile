# weft's image: weft-agent, weft-controller, the weft CLI and weft-cni on top of FRR 10.7.1, so
# the agent pod's two containers (agent and FRR) run the same image and the agent finds vtysh
# and frr-reload.py where FRR installs them.
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

# FRR is built by the very script that builds it for the tests (hack/build-frr10.sh, from the
# same verified sources, on the same Debian 12 toolchain), at the version the tests run
# (internal/frrinstall.FRR10Release; test/deploy's TestImageShipsTheTestedFRR keeps the three
# equal): what is shipped is what is tested.
FROM debian:bookworm AS frr
ARG FRR_VERSION=10.7.1-6
COPY hack/build-frr10.sh /src/hack/build-frr10.sh
RUN WEFT_FRR10_VERSION=${FRR_VERSION} XDG_CACHE_HOME=/opt /src/hack/build-frr10.sh \
 && ln -s "frr-${FRR_VERSION%%-*}" /opt/weft/frr

FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libjson-c5 libreadline8 libc-ares2 libprotobuf-c1 libcap2 libpcre2-8-0 \
      python3 iproute2 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd -r frr && groupadd -r frrvty \
 && useradd -r -g frr -G frrvty -d /nonexistent -s /usr/sbin/nologin frr
COPY --from=frr /opt/weft/ /opt/weft/
# Debian's paths, where the agent's defaults (vtysh, frr-reload.py) and hack/frr-start.sh look.
# /var/lib/frr holds FRR 10's state per pathspace (bgpd's graceful-restart data, mgmtd's
# commits): FRR creates /var/lib/frr/<pathspace> but not its parent.
RUN ln -s /opt/weft/frr/lib/frr /usr/lib/frr \
 && ln -s /opt/weft/frr/bin/vtysh /usr/bin/vtysh \
 && install -D -m 0644 /opt/weft/frr/share/frr/daemons /etc/frr/daemons \
 && install -d -o frr -g frr /var/lib/frr /var/log/frr
COPY --from=build /out/ /usr/local/bin/
COPY hack/frr-start.sh /usr/local/bin/weft-frr-start
# The controller runs as this user (the chart sets runAsUser); the agent and FRR as root.
USER 0
ENTRYPOINT []
