#!/bin/sh
# PID 1 of the UML guest. The root is the host's / through hostfs, read-only: build a tmpfs
# overlay on top so the guest can write, and continue in it. On any failure, power off at
# once instead of leaving a hung guest.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
D=@DIR@
off() { echo "uml init: $*"; echo o > /proc/sysrq-trigger; sleep 10; }
mount -t proc proc /proc || off "mount proc"
mount -t sysfs sys /sys || off "mount sys"
modprobe -d "$D/modroot" overlay || off "modprobe overlay"
mount -t tmpfs tmpfs /run || off "mount tmpfs"
mkdir -p /run/ov/u /run/ov/w /run/newroot
mount -t overlay overlay -o lowerdir=/,upperdir=/run/ov/u,workdir=/run/ov/w /run/newroot || off "mount overlay"
mount --rbind /proc /run/newroot/proc
mount --rbind /sys /run/newroot/sys
mount -t devtmpfs dev /run/newroot/dev
exec chroot /run/newroot /bin/sh "$D/guest.sh"
off "chroot"
