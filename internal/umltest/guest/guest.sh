#!/bin/sh
# Runs in the guest's overlay root: a private /run, the results directory mounted from the
# host, then the job; its output and exit code are written to the host, then power off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
D=@DIR@
mount -t tmpfs tmpfs /run
# A UML kernel boots with the hostname "(none)", which FRR copies into its running config
# and then refuses to parse back (frr-reload.py fails on it).
hostname weft-uml
mkdir -p /run/out
if mount -t hostfs none /run/out -o "$D/out"; then
  sh "$D/job.sh" >/run/out/output 2>&1
  echo $? >/run/out/rc
  sync
else
  echo "uml guest: cannot mount results directory"
fi
echo o > /proc/sysrq-trigger
sleep 10
