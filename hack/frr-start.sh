#!/bin/sh
# Entry point of the FRR container of the agent pod (installed as /usr/local/bin/weft-frr-start
# by the Dockerfile): waits for the router network namespace the agent creates, then runs
# FRR's daemons inside it under watchfrr, in the foreground, with the namespace's name as
# FRR's pathspace (-N), which is where the agent's vtysh and frr-reload.py look.
set -eu
ns=${ROUTER_NETNS:-weft}
until [ -e "/run/netns/$ns" ]; do sleep 1; done

conf=/etc/frr/$ns
mkdir -p "$conf" "/var/run/frr/$ns" "/var/lib/frr/$ns"
if [ ! -f "$conf/daemons" ]; then
  sed -e 's/^bgpd=no/bgpd=yes/' -e 's/^bfdd=no/bfdd=yes/' -e 's/^staticd=no/staticd=yes/' \
    /etc/frr/daemons > "$conf/daemons"
fi
# zebra -K120 keeps the kernel's routes for up to 120 s when it restarts, until bgpd has them
# again: the forwarding state that bgpd's preserve-fw-state announces (weft renders it with
# graceful restart), so a crash of FRR loses no traffic. 120 is bgpd's default restart time
# (frrinstall.ZebraKeepSeconds). The value is attached: FRR 10's -K takes it as optional, so
# "-K 120" would be -K with no value. Added at every start, so a daemons file kept from an
# older weft gets it too.
if ! grep -q '^zebra_options=.*-K' "$conf/daemons"; then
  sed -i 's/^zebra_options="\(.*\)"/zebra_options="\1 -K120"/' "$conf/daemons"
fi
[ -f "$conf/frr.conf" ] || : > "$conf/frr.conf"
[ -f "$conf/vtysh.conf" ] || echo "service integrated-vtysh-config" > "$conf/vtysh.conf"
chown -R frr:frr "$conf" "/var/run/frr/$ns" "/var/lib/frr/$ns"

export FRR_PATHSPACE="$ns"
. /usr/lib/frr/frrcommon.sh
# shellcheck disable=SC2046 # daemon_list prints one word per daemon
exec ip netns exec "$ns" /usr/lib/frr/watchfrr -N "$ns" $(daemon_list)
