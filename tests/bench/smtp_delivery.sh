#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# shellcheck disable=SC2317  # functions reached through traps and variables
#
# SMTP inbound delivery benchmark: Valv (valvd) against Postfix + Dovecot (LMTP,
# Maildir) on this machine, same load, one after the other, in one run.
# See tests/bench/README.md.  Not a test: prints numbers, asserts nothing
# about speed.  Exits non-zero only if a run lost or refused messages or a
# server failed to start.
#
# All traffic stays on loopback: the measuring part re-executes itself inside
# a fresh network namespace (unshare --net) that has only `lo`, so neither
# server nor the load generator can reach any other address, DNS included.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3

CONCURRENCY=${CONCURRENCY:-8}
MESSAGES=${MESSAGES:-2000}
SIZE=${SIZE:-10240}
RUNS=${RUNS:-3}
USERS=${USERS:-4}
SYSTEMS=${SYSTEMS:-valv,postfix}
VALV_BUILD_DIR=${VALV_BUILD_DIR:-/work/main/build}
KEEP=${KEEP:-0}
E2E_TIMEOUT=${E2E_TIMEOUT:-240}   # seconds to wait for the store after the last 250
PASSWORD=bench-password-1

usage() {
    cat <<EOF
usage: $0 [-c CONCURRENCY] [-m MESSAGES] [-s SIZE] [-r RUNS] [-u USERS]
          [--systems valv,postfix] [--keep]
  -c N          parallel SMTP sessions                 (default $CONCURRENCY)
  -m N          messages per run                       (default $MESSAGES)
  -s BYTES      message size                           (default $SIZE)
  -r N          runs per system; medians are reported  (default $RUNS)
  -u N          recipients u1..uN@bench.test           (default $USERS)
  --systems L   comma list of valv, postfix            (default $SYSTEMS)
  --keep        keep the work directory (logs, stores)
Environment: VALV_BUILD_DIR (default /work/main/build; valvd and valvctl are
taken from \$VALV_BUILD_DIR/server/valvd/valvd and .../server/valvctl/valvctl).
The same settings may be given as environment variables CONCURRENCY, MESSAGES,
SIZE, RUNS, USERS, SYSTEMS, KEEP=1.
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        -c) CONCURRENCY=$2; shift 2 ;;
        -m) MESSAGES=$2; shift 2 ;;
        -s) SIZE=$2; shift 2 ;;
        -r) RUNS=$2; shift 2 ;;
        -u) USERS=$2; shift 2 ;;
        --systems) SYSTEMS=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
export CONCURRENCY MESSAGES SIZE RUNS USERS SYSTEMS VALV_BUILD_DIR KEEP E2E_TIMEOUT

log() { echo "[smtp-bench $(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

VALVD=$VALV_BUILD_DIR/server/valvd/valvd
VALVCTL=$VALV_BUILD_DIR/server/valvctl/valvctl

# ---------------------------------------------------------------- outside netns
if [ -z "${SMTP_BENCH_IN_NETNS:-}" ]; then
    [ "$(id -u)" = 0 ] || die "run as root (installs packages, runs Postfix/Dovecot, makes a network namespace)"

    if [[ ",$SYSTEMS," == *,postfix,* ]]; then
        missing=()
        for p in postfix dovecot-core dovecot-lmtpd dovecot-imapd; do
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
        done
        if [ ${#missing[@]} -gt 0 ]; then
            log "installing ${missing[*]}"
            made_policy=0
            if [ ! -e /usr/sbin/policy-rc.d ]; then
                printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
                chmod 755 /usr/sbin/policy-rc.d
                made_policy=1
            fi
            echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
            ok=1
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
                postfix dovecot-core dovecot-lmtpd dovecot-imapd >&2 || ok=0
            if [ $ok = 0 ]; then
                apt-get update >&2
                DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
                    postfix dovecot-core dovecot-lmtpd dovecot-imapd >&2 || ok=0
            fi
            [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
            [ $ok = 1 ] || die "could not install Postfix/Dovecot"
        fi
    fi
    if [[ ",$SYSTEMS," == *,valv,* ]]; then
        if [ ! -x "$VALVD" ] || [ ! -x "$VALVCTL" ]; then
            log "warning: $VALVD or $VALVCTL missing: benchmarking the peer only"
            log "  (build: cmake -S /work/main -B /work/build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DVALV_BUILD_TESTS=OFF"
            log "          && cmake --build /work/build-bench --target valvd valvctl; then VALV_BUILD_DIR=/work/build-bench)"
            SYSTEMS=$(echo ",$SYSTEMS," | sed 's/,valv,/,/; s/^,//; s/,$//')
            export SYSTEMS
        fi
    fi
    [ -n "$SYSTEMS" ] || die "nothing to benchmark"
    command -v unshare >/dev/null || die "unshare (util-linux) is needed to keep traffic on loopback"
    exec env SMTP_BENCH_IN_NETNS=1 unshare --net -- bash "$0"
fi

# ----------------------------------------------------------------- inside netns
ip link set lo up 2>/dev/null || $PY - <<'EOF' || die "cannot bring up lo in the namespace"
import fcntl, socket, struct
s = socket.socket()
ifr = struct.pack("16sH14x", b"lo", 0)
flags = struct.unpack("16sH14x", fcntl.ioctl(s, 0x8913, ifr))[1]   # SIOCGIFFLAGS
fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags | 1))    # SIOCSIFFLAGS, IFF_UP
EOF
# no route but loopback: prove it before starting anything
if $PY -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("192.0.2.1", 9))' 2>/dev/null; then
    die "network namespace has a non-loopback route; refusing to run"
fi

WORK=$(mktemp -d /var/tmp/valv-smtp-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/results"
CURRENT_STOP="" LOAD_PID=""
cleanup() {
    set +e
    [ -n "$LOAD_PID" ] && kill -TERM "$LOAD_PID" 2>/dev/null && wait "$LOAD_PID" 2>/dev/null
    [ -n "$CURRENT_STOP" ] && $CURRENT_STOP
    if [ "$KEEP" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RCPTS=$(for i in $(seq 1 "$USERS"); do printf 'u%d@bench.test,' "$i"; done | sed 's/,$//')

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local secs=$1 what=$2; shift 2
    local end=$((SECONDS + secs))
    until "$@" 2>/dev/null; do
        [ $SECONDS -lt $end ] || die "timed out waiting for $what"
        sleep 0.1
    done
}

smtp_banner_ok() {
    $PY - "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
line = s.makefile("rb").readline()
s.sendall(b"QUIT\r\n")
sys.exit(0 if line.startswith(b"220") else 1)
EOF
}

run_load() {  # run_load LABEL PORT RESULT-JSON extra args...
    local label=$1 port=$2 out=$3; shift 3
    $PY "$HERE/smtpload.py" --host 127.0.0.1 --port "$port" \
        --concurrency "$CONCURRENCY" --messages "$MESSAGES" --size "$SIZE" \
        --rcpt "$RCPTS" --label "$label" --json "$out" --e2e-timeout "$E2E_TIMEOUT" "$@" >/dev/null &
    LOAD_PID=$!   # in the background so that a signal's trap runs at once
    local rc=0
    wait "$LOAD_PID" || rc=$?
    LOAD_PID=""
    return $rc
}

# ------------------------------------------------------------------ Valv
VALV_PID=""
valv_stop() {
    if [ -n "$VALV_PID" ]; then
        kill -TERM "$VALV_PID" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$VALV_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$VALV_PID" 2>/dev/null
        wait "$VALV_PID" 2>/dev/null
        VALV_PID=""
    fi
}

bench_valv() {  # bench_valv RUN
    local run=$1 d=$WORK/valv-$1
    mkdir -p "$d"
    "$VALVCTL" --datadir "$d/data" init --no-demo >"$d/valvctl.log" 2>&1 || { cat "$d/valvctl.log" >&2; die "valvctl init failed"; }
    "$VALVCTL" --datadir "$d/data" domain add bench.test >>"$d/valvctl.log" 2>&1 || die "valvctl domain add failed"
    for i in $(seq 1 "$USERS"); do
        "$VALVCTL" --datadir "$d/data" user add "u$i@bench.test" --password "$PASSWORD" \
            >>"$d/valvctl.log" 2>&1 || { cat "$d/valvctl.log" >&2; die "valvctl user add failed"; }
    done
    CURRENT_STOP=valv_stop
    "$VALVD" --datadir "$d/data" --listen-address 127.0.0.1 --smtp-port 0 --imap-port 0 \
        --imaps-port 0 --pop3-port 0 --pop3s-port 0 --ready-file "$d/ready.json" >"$d/valvd.log" 2>&1 &
    VALV_PID=$!
    wait_for 30 "valvd ready file" $PY -c 'import json,sys; json.load(open(sys.argv[1]))["smtp"]' "$d/ready.json"
    local smtp imap
    smtp=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["smtp"])' "$d/ready.json")
    imap=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["imap"])' "$d/ready.json")
    wait_for 10 "valvd SMTP banner" smtp_banner_ok "$smtp"
    local rc=0
    run_load valv "$smtp" "$WORK/results/valv-$run.json" \
        --count-imap "$imap" --password "$PASSWORD" || rc=$?
    valv_stop
    CURRENT_STOP=""
    [ -s "$WORK/results/valv-$run.json" ] || { tail -20 "$d/valvd.log" >&2; die "valv run $run produced no result"; }
    return $rc
}

# ------------------------------------------------------- Postfix + Dovecot
PF_CONF="" DOVE_CONF="" DOVE_BASE=""
peer_stop() {
    if [ -n "$PF_CONF" ]; then
        postfix -c "$PF_CONF" stop >/dev/null 2>&1
        for _ in $(seq 1 100); do postfix -c "$PF_CONF" status >/dev/null 2>&1 || break; sleep 0.1; done
        postfix -c "$PF_CONF" abort >/dev/null 2>&1
        PF_CONF=""
    fi
    if [ -n "$DOVE_BASE" ] && [ -s "$DOVE_BASE/master.pid" ]; then
        local pid; pid=$(cat "$DOVE_BASE/master.pid")
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        DOVE_BASE=""
    fi
}

bench_postfix() {  # bench_postfix RUN
    local run=$1 d=$WORK/peer-$1
    mkdir -p "$d/postfix-etc" "$d/postfix-queue" "$d/postfix-data" "$d/dovecot-run" \
             "$d/dovecot-state" "$d/mail"
    chmod 755 "$d" "$d/dovecot-run"
    chown mail:mail "$d/mail"
    chown postfix "$d/postfix-data"
    local port; port=$(free_port)

    # Dovecot: stock settings apart from paths, users and listeners.
    # mail_fsync stays at its default (optimized): every delivered message
    # file is fsync()ed before LMTP answers 250.
    DOVE_CONF=$d/dovecot.conf
    DOVE_BASE=$d/dovecot-run
    cat > "$DOVE_CONF" <<EOF
# generated by tests/bench/smtp_delivery.sh
instance_name = dovecot-bench-$run
base_dir = $d/dovecot-run
state_dir = $d/dovecot-state
log_path = $d/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
hostname = mx.bench.test
postmaster_address = postmaster@bench.test
first_valid_uid = 8
mail_location = maildir:~/Maildir
passdb {
  driver = static
  args = password=$PASSWORD
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$d/mail/%d/%n allow_all_users=yes
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
EOF
    CURRENT_STOP=peer_stop
    dovecot -c "$DOVE_CONF" >"$d/dovecot.start.log" 2>&1 || { cat "$d/dovecot.start.log" "$d/dovecot.log" >&2; die "dovecot failed to start"; }
    wait_for 30 "dovecot LMTP socket" test -S "$d/dovecot-run/lmtp"

    # Postfix: a private instance (postfix -c DIR) with its own queue.  Stock
    # main.cf defaults apart from paths, the local domain and the LMTP hand-off;
    # master.cf is Debian's with chroot off (the queue lives under $d) and
    # smtpd on 127.0.0.1:$port.  Anything not for bench.test is bounced by
    # the error transport, so Postfix never tries to send mail anywhere.
    PF_CONF=$d/postfix-etc
    for i in $(seq 1 "$USERS"); do echo "u$i@bench.test OK"; done > "$PF_CONF/vmailbox"
    cat > "$PF_CONF/main.cf" <<EOF
# generated by tests/bench/smtp_delivery.sh
compatibility_level = 3.6
queue_directory = $d/postfix-queue
data_directory = $d/postfix-data
maillog_file = $d/postfix.log
syslog_name = postfix-bench-$run
myhostname = mx.bench.test
mydomain = bench.test
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
biff = no
virtual_mailbox_domains = bench.test
virtual_mailbox_maps = texthash:$PF_CONF/vmailbox
virtual_transport = lmtp:unix:$d/dovecot-run/lmtp
default_transport = error:outbound delivery disabled in benchmark
relay_transport = error:outbound delivery disabled in benchmark
EOF
    awk -v port="$port" '
        /^[#[:space:]]/ || NF < 8 { print; next }
        $1 == "smtp" && $2 == "inet" { $1 = "127.0.0.1:" port }
        { $5 = "n"; print }
    ' /etc/postfix/master.cf > "$PF_CONF/master.cf"
    postfix -c "$PF_CONF" check >"$d/postfix.start.log" 2>&1 || { cat "$d/postfix.start.log" >&2; die "postfix check failed"; }
    postfix -c "$PF_CONF" start >>"$d/postfix.start.log" 2>&1 || { cat "$d/postfix.start.log" >&2; die "postfix failed to start"; }
    wait_for 30 "postfix smtpd" smtp_banner_ok "$port"

    local rc=0
    run_load postfix "$port" "$WORK/results/postfix-$run.json" --count-maildir "$d/mail" || rc=$?
    peer_stop
    CURRENT_STOP=""
    [ -s "$WORK/results/postfix-$run.json" ] || die "postfix run $run produced no result"
    if [ $rc != 0 ]; then tail -20 "$d/postfix.log" "$d/dovecot.log" >&2 || true; fi
    return $rc
}

# ------------------------------------------------------------------ main
log "work dir $WORK; systems $SYSTEMS; $RUNS run(s) of $MESSAGES x $SIZE B, $CONCURRENCY sessions, $USERS recipients"
failed=0
IFS=, read -r -a systems <<< "$SYSTEMS"
for run in $(seq 1 "$RUNS"); do
    for sys in "${systems[@]}"; do   # interleaved, so drift hits both alike
        log "run $run/$RUNS: $sys"
        case "$sys" in
            valv) bench_valv "$run" || failed=1 ;;
            postfix) bench_postfix "$run" || failed=1 ;;
            *) die "unknown system $sys" ;;
        esac
        $PY -c 'import json,sys; r=json.load(open(sys.argv[1])); print("  accepted %d/%d  %.1f msg/s  p50 %.2f ms  p99 %.2f ms  e2e %s msg/s  client cpu %.2f s%s" % (r["accepted"], r["messages"], r.get("accept_rate",0), r.get("p50_ms",0), r.get("p99_ms",0), "%.1f" % r["e2e_rate"] if r.get("e2e_rate") else "-", r["client_cpu_s"], "" if r["ok"] else "  FAILED: %s" % r["error_samples"][:1]))' \
            "$WORK/results/$sys-$run.json" >&2
    done
done

POSTFIX_VERSION=$(postconf -d -h mail_version 2>/dev/null || echo "?")
DOVECOT_VERSION=$(dovecot --version 2>/dev/null || echo "?")
export POSTFIX_VERSION DOVECOT_VERSION
$PY - "$WORK/results" <<'EOF'
import glob, json, os, platform, statistics, sys

res = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    r = json.load(open(f))
    res.setdefault(r["label"], []).append(r)

def med(rs, key):
    vals = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(vals) if vals else None

names = {"valv": "valvd", "postfix": "postfix+dovecot"}
cpu = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
print()
print(f"machine: {os.cpu_count()} cpus ({cpu}), {platform.system()} {platform.release()}, "
      f"python {platform.python_version()}; postfix {os.environ['POSTFIX_VERSION']}, "
      f"dovecot {os.environ['DOVECOT_VERSION']}")
print(f"load: {os.environ['MESSAGES']} msgs x {os.environ['SIZE']} B, "
      f"{os.environ['CONCURRENCY']} sessions, {os.environ['USERS']} recipients; "
      f"median of {os.environ['RUNS']} run(s) per system")
print()
hdr = (f"{'system':<16} {'msgs':>6} {'conc':>4} {'accepted msg/s':>14} {'p50 ms':>8} {'p99 ms':>8} "
       f"{'e2e msg/s':>10} {'refused':>7} {'runs ok':>7}")
print(hdr)
print("-" * len(hdr))
row = {}
for label in ("valv", "postfix"):
    rs = res.get(label)
    if not rs:
        continue
    m = {k: med(rs, k) for k in ("accept_rate", "p50_ms", "p99_ms", "e2e_rate", "errors")}
    row[label] = m
    f = lambda v, p=1: "-" if v is None else f"{v:.{p}f}"
    print(f"{names[label]:<16} {rs[0]['messages']:>6} {rs[0]['concurrency']:>4} "
          f"{f(m['accept_rate']):>14} {f(m['p50_ms'], 2):>8} {f(m['p99_ms'], 2):>8} "
          f"{f(m['e2e_rate']):>10} {f(m['errors'], 0):>7} {sum(r['ok'] for r in rs):>3}/{len(rs):<3}")
if "valv" in row and "postfix" in row:
    v, p = row["valv"], row["postfix"]
    ratio = lambda a, b: "-" if not a or not b else f"{a / b:.2f}x"
    print(f"{'ratio valv/peer':<16} {'':>6} {'':>4} {ratio(v['accept_rate'], p['accept_rate']):>14} "
          f"{ratio(v['p50_ms'], p['p50_ms']):>8} {ratio(v['p99_ms'], p['p99_ms']):>8} "
          f"{ratio(v['e2e_rate'], p['e2e_rate']):>10}")
print()
print("accepted msg/s: messages answered 250 / (last 250-after-DATA - start); p50/p99: MAIL sent .. 250")
print("after DATA. e2e: postfix+dovecot until the Maildirs hold every accepted message (polled every")
print("20 ms after the last 250); valvd: its 250 means committed, so e2e = accepted, verified by")
print("counting the messages over IMAP (fresh logins) after the run. refused: messages answered")
print("other than 250 (median); a run is ok only if none was refused or lost.")
print("For latencies a ratio < 1 means Valv is faster; for rates a ratio > 1 does.")
EOF
exit $failed
