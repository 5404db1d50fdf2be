#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Installs every Debian 12 package Valv needs to build, run and test.
# Usage: installer/deps.sh [--test]   (--test adds the test peers and sanitizer toolchain)
set -eu
export DEBIAN_FRONTEND=noninteractive
BUILD="cmake ninja-build ccache g++ pkg-config
 qt6-base-dev qt6-base-dev-tools
 libsqlcipher-dev libssl-dev libargon2-dev libgmime-3.0-dev
 zlib1g-dev libidn2-dev libpsl-dev openssl ca-certificates"
TEST="clang libclang-rt-14-dev python3 python3-pytest swaks libnet-ssleay-perl procps isync offlineimap3 fetchmail getmail6 python3-dkim dnsmasq-base python3-spf python3-yaml python3-authres"
PKGS="$BUILD"
if [ "${1:-}" = "--test" ]; then PKGS="$BUILD $TEST"; fi
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    apt-get update -qq
    # policy-rc.d keeps packages from starting system services during install.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends $missing
    rm -f /usr/sbin/policy-rc.d
fi
