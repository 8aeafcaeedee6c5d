#!/usr/bin/env bash
# Builds FRR 10 (with the libyang it needs) from Debian's source packages into a cache outside
# the repository, keyed by version, and prints its prefix. Debian 12 ships FRR 8.4 only, and
# newer suites' binaries need a newer libc, so the sources are built here with Debian 12's
# toolchain. Idempotent: seconds when the prefix exists. ~6 min cold on 2 cores. The
# Dockerfile runs this very script, so the image ships what the tests run.
#
# FRR is 10.7.1, the first release here with graceful restart for the EVPN address family
# (FRR PR #19778, merged late 2025), from Debian forky: its upstream orig tarball, since the
# mirror serves forky's Sources index and orig tarball but not that version's .dsc and
# Debian patches (both 404). libyang is trixie's source package (3.12; FRR needs >= 2.1.128).
# Everything comes through apt, which checks the suites' signatures and the files' checksums
# (the orig tarball's SHA-256 is also pinned here), from
# deb-src entries derived from this machine's own Debian entry, in a private apt
# configuration: the system's lists are left alone and no mirror host is written here.
set -euo pipefail

FRR_VERSION=${WEFT_FRR10_VERSION:-10.7.1-6}
# The upstream tarball's SHA-256, pinned: it outlives the Debian revision (-6) that brought it.
FRR_ORIG_SHA256=${WEFT_FRR10_ORIG_SHA256:-b8fd6590f0f53ccd661e8c3e3a0d997f9014b62c8ed03a42e51e93291373ae52}
LIBYANG_VERSION=${WEFT_LIBYANG_VERSION:-3.12.2-1}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/weft
PREFIX=$CACHE/frr-${FRR_VERSION%%-*}

if [ -x "$PREFIX/lib/frr/bgpd" ] && [ -f "$PREFIX/.weft-built-$FRR_VERSION" ]; then
  echo "$PREFIX"
  exit 0
fi

log() { echo "build-frr10: $*" >&2; }

build_deps=(build-essential cmake bison flex libjson-c-dev libreadline-dev libc-ares-dev
  libprotobuf-c-dev protobuf-c-compiler libcap-dev libelf-dev libpcre2-dev python3-dev
  pkg-config libtool autoconf automake texinfo dpkg-dev)
missing=()
for p in "${build_deps[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing build dependencies: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$CACHE"
work=$(mktemp -d "$CACHE/.frr10-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/apt/lists/partial"
uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
if [ -z "$uri" ]; then
  uri=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
fi
printf 'deb-src %s trixie main\ndeb-src %s forky main\n' "$uri" "$uri" >"$work/apt/src.list"
opts=(-o "Dir::Etc::SourceList=$work/apt/src.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/apt/lists" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
log "fetching the sources of frr $FRR_VERSION (forky) and libyang $LIBYANG_VERSION (trixie)"
apt-get "${opts[@]}" -qq update
(cd "$work" && apt-get "${opts[@]}" -qq source --download-only "libyang=$LIBYANG_VERSION" >/dev/null)
(cd "$work" && dpkg-source -x --no-check libyang_*.dsc libyang-src >/dev/null)
# The .dsc and Debian patches of forky's frr are not served: apt fetches what it can (the
# orig tarball, hash-checked against the signed Sources index) and fails on the rest, so its
# exit status is not the verdict; the pinned SHA-256 is. Any Debian revision of this upstream
# release has the same tarball.
orig="frr_${FRR_VERSION%%-*}.orig.tar.xz"
(cd "$work" && apt-get "${opts[@]}" -qq source --download-only frr >/dev/null 2>&1 || true)
if [ ! -f "$work/$orig" ]; then
  log "forky no longer has $orig (its frr: $(apt-cache "${opts[@]}" showsrc frr 2>/dev/null | awk '/^Version:/ {v = $2} END {print v}')); update FRR_VERSION and FRR_ORIG_SHA256"
  exit 1
fi
echo "$FRR_ORIG_SHA256  $work/$orig" | sha256sum -c --quiet - || { log "$orig does not have the pinned SHA-256 $FRR_ORIG_SHA256"; exit 1; }
mkdir "$work/frr-src"
tar -xJf "$work/$orig" -C "$work/frr-src" --strip-components=1

stage=$work/prefix
log "building libyang (~2 min)"
cmake -S "$work/libyang-src" -B "$work/libyang-build" -DCMAKE_INSTALL_PREFIX="$stage" \
  -DCMAKE_BUILD_TYPE=Release -DENABLE_TESTS=OFF -DCMAKE_INSTALL_LIBDIR=lib >"$work/libyang.log" 2>&1
make -C "$work/libyang-build" -j2 install >>"$work/libyang.log" 2>&1 || { tail -30 "$work/libyang.log" >&2; exit 1; }

log "building FRR ${FRR_VERSION%%-*} (~4 min)"
cd "$work/frr-src"
{
  ./bootstrap.sh
  # The prefix is final (rpath): build for $PREFIX, install there at the end. Run and config
  # directories are Debian's (/var/run/frr/<pathspace>, /etc/frr/<pathspace>), as for FRR 8.4.
  PKG_CONFIG_PATH="$stage/lib/pkgconfig" CPPFLAGS="-I$stage/include" \
    LDFLAGS="-L$PREFIX/lib -L$stage/lib -Wl,-rpath,$PREFIX/lib" \
    ./configure --prefix="$PREFIX" --sysconfdir=/etc --localstatedir=/var \
    --sbindir="$PREFIX/lib/frr" --disable-doc --disable-snmp --enable-user=frr --enable-group=frr \
    --enable-vty-group=frrvty --disable-ospfd --disable-ospf6d --disable-ripd --disable-ripngd \
    --disable-isisd --disable-pimd --disable-pim6d --disable-ldpd --disable-nhrpd --disable-eigrpd \
    --disable-babeld --disable-sharpd --disable-pbrd --disable-fabricd --disable-vrrpd \
    --disable-pathd
  make -j2
} >"$work/frr.log" 2>&1 || { tail -40 "$work/frr.log" >&2; exit 1; }

rm -rf "$PREFIX"
mkdir -p "$PREFIX"
cp -a "$stage/lib" "$PREFIX/"
make install >>"$work/frr.log" 2>&1 || { tail -30 "$work/frr.log" >&2; exit 1; }
# frr-reload.py ships in tools/; the agent and the tests call it with --bindir.
install -m 0755 tools/frr-reload.py "$PREFIX/lib/frr/frr-reload.py"
# The stock daemons file, which the image's FRR entry point (hack/frr-start.sh) starts from.
install -D -m 0644 tools/etc/frr/daemons "$PREFIX/share/frr/daemons"
touch "$PREFIX/.weft-built-$FRR_VERSION"
log "$("$PREFIX/lib/frr/bgpd" --version 2>/dev/null | head -1) in $PREFIX"
echo "$PREFIX"
