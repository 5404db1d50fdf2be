#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Installs dependencies, builds, initialises a demo data dir when there is none, and runs
# valvd in the foreground on loopback high ports, printing how to connect.
# Environment: VALV_DATADIR (default /var/lib/valv-demo), VALV_BUILD_DIR (default build).
set -eu
cd "$(dirname "$0")/.."
sh installer/deps.sh
BUILD="${VALV_BUILD_DIR:-build}"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVALV_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" --target valvd valvctl
DATADIR="${VALV_DATADIR:-/var/lib/valv-demo}"
CTL="$BUILD/server/valvctl/valvctl --datadir $DATADIR"
if [ ! -e "$DATADIR/config.db" ]; then
    $CTL init --hostname localhost > "$DATADIR.init" 2>&1 || { cat "$DATADIR.init"; exit 1; }
    PASSWORD=$(sed -n 's/^password: //p' "$DATADIR.init")
    FINGERPRINT=$(sed -n 's/^tls-fingerprint: //p' "$DATADIR.init")
    rm -f "$DATADIR.init"
else
    # The password is only stored hashed; give the demo user a fresh one to print.
    PASSWORD=$($CTL user passwd demo@example.test | sed -n 's/^password: //p')
    FINGERPRINT=$(openssl x509 -in "$DATADIR/tls/cert.pem" -noout -fingerprint -sha256 | sed 's/.*=/SHA256 /')
fi
cat <<INFO

  Valv is starting on loopback (data in $DATADIR).
    SMTP (MX, STARTTLS)   127.0.0.1 port 2525
    Submission (STARTTLS) 127.0.0.1 port 1587
    Submission (TLS)      127.0.0.1 port 1465
    IMAP (STARTTLS)       127.0.0.1 port 1143
    IMAP (implicit TLS)   127.0.0.1 port 1993
    POP3 (STLS)           127.0.0.1 port 1110
    POP3 (implicit TLS)   127.0.0.1 port 1995
    user                  demo@example.test
    password              $PASSWORD
    TLS certificate       self-signed, $FINGERPRINT
                          ($DATADIR/tls/cert.pem)
  Try:  swaks --server 127.0.0.1:2525 --to demo@example.test
        swaks --server 127.0.0.1:1465 --tls-on-connect --auth PLAIN \\
              --auth-user demo@example.test --auth-password '$PASSWORD' \\
              --from demo@example.test --to demo@example.test
        openssl s_client -quiet -connect 127.0.0.1:1993
        openssl s_client -quiet -connect 127.0.0.1:1995
  Stop with Ctrl-C.

INFO
exec "$BUILD/server/valvd/valvd" --datadir "$DATADIR" --listen-address 127.0.0.1 \
    --smtp-port 2525 --submission-port 1587 --submissions-port 1465 \
    --imap-port 1143 --imaps-port 1993 --pop3-port 1110 --pop3s-port 1995
