#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# shellcheck disable=SC2317  # functions reached through traps and variables
#
# POP3 benchmark: download throughput of Valv (valvd) against Dovecot's POP3
# (private instance, Maildir) on this machine, with the same mailbox contents,
# interleaved runs, medians.  See tests/bench/README.md.  Not a test: prints
# numbers, asserts nothing about speed.
#
# All traffic stays on loopback: the measuring part re-executes itself inside
# a fresh network namespace (unshare --net) that has only `lo`.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3

CLIENTS=${CLIENTS:-4}
MESSAGES=${MESSAGES:-1000}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
SYSTEMS=${SYSTEMS:-valv,dovecot}
VALV_BUILD_DIR=${VALV_BUILD_DIR:-/work/main/build}
KEEP=${KEEP:-0}
PASSWORD=bench-password-1

usage() {
    cat <<EOF
usage: $0 [-c CLIENTS] [-m MESSAGES] [-r RUNS] [--seed N] [--systems valv,dovecot] [--keep]
  -c N          parallel POP3 clients, one user (and INBOX) each  (default $CLIENTS)
  -m N          messages in every INBOX                           (default $MESSAGES)
  -r N          runs per system, interleaved; medians reported    (default $RUNS)
  --seed N      seed of the mailbox contents                      (default $SEED)
  --systems L   comma list of valv, dovecot                       (default $SYSTEMS)
  --keep        keep the work directory (logs, stores)
Environment: VALV_BUILD_DIR (default /work/main/build; a Release build is meant).
The same settings may be given as environment variables CLIENTS, MESSAGES,
RUNS, SEED, SYSTEMS, KEEP=1.
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        -c) CLIENTS=$2; shift 2 ;;
        -m) MESSAGES=$2; shift 2 ;;
        -r) RUNS=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --systems) SYSTEMS=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
export CLIENTS MESSAGES RUNS SEED SYSTEMS VALV_BUILD_DIR KEEP

log() { echo "[pop3-bench $(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

VALVD=$VALV_BUILD_DIR/server/valvd/valvd
VALVCTL=$VALV_BUILD_DIR/server/valvctl/valvctl

# ---------------------------------------------------------------- outside netns
if [ -z "${POP3_BENCH_IN_NETNS:-}" ]; then
    [ "$(id -u)" = 0 ] || die "run as root (installs packages, runs Dovecot, makes a network namespace)"
    if [[ ",$SYSTEMS," == *,dovecot,* ]]; then
        missing=()
        for p in dovecot-core dovecot-pop3d; do
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
        done
        if [ ${#missing[@]} -gt 0 ]; then
            log "installing ${missing[*]}"
            made_policy=0
            if [ ! -e /usr/sbin/policy-rc.d ]; then   # no system services started on install
                printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
                chmod 755 /usr/sbin/policy-rc.d
                made_policy=1
            fi
            ok=1
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
                dovecot-core dovecot-pop3d >&2 || ok=0
            if [ $ok = 0 ]; then
                apt-get update >&2
                DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
                    dovecot-core dovecot-pop3d >&2 || ok=0
            fi
            [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
            [ $ok = 1 ] || die "could not install Dovecot's POP3 server"
        fi
    fi
    if [[ ",$SYSTEMS," == *,valv,* ]]; then
        [ -x "$VALVD" ] && [ -x "$VALVCTL" ] || die "$VALVD or $VALVCTL missing (build with -DCMAKE_BUILD_TYPE=Release, set VALV_BUILD_DIR)"
    fi
    command -v unshare >/dev/null || die "unshare (util-linux) is needed to keep traffic on loopback"
    exec env POP3_BENCH_IN_NETNS=1 unshare --net -- bash "$0"
fi

# ----------------------------------------------------------------- inside netns
ip link set lo up 2>/dev/null || $PY - <<'EOF' || die "cannot bring up lo in the namespace"
import fcntl, socket, struct
s = socket.socket()
ifr = struct.pack("16sH14x", b"lo", 0)
flags = struct.unpack("16sH14x", fcntl.ioctl(s, 0x8913, ifr))[1]   # SIOCGIFFLAGS
fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags | 1))    # SIOCSIFFLAGS, IFF_UP
EOF
if $PY -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("192.0.2.1", 9))' 2>/dev/null; then
    die "network namespace has a non-loopback route; refusing to run"
fi

WORK=$(mktemp -d /var/tmp/valv-pop3-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/results"
CURRENT_STOP=""
cleanup() {
    set +e
    [ -n "$CURRENT_STOP" ] && $CURRENT_STOP
    if [ "$KEEP" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

USER_LIST=$(for i in $(seq 1 "$CLIENTS"); do printf 'u%d@bench.test,' "$i"; done | sed 's/,$//')

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

pop3_greeting_ok() {
    $PY - "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
line = s.makefile("rb").readline()
s.sendall(b"QUIT\r\n")
sys.exit(0 if line.startswith(b"+OK") else 1)
EOF
}

load() {  # load LABEL PORT RESULT-JSON
    $PY "$HERE/pop3_load.py" load --port "$2" --users "$USER_LIST" --password "$PASSWORD" \
        --warmup >/dev/null
    $PY "$HERE/pop3_load.py" load --port "$2" --users "$USER_LIST" --password "$PASSWORD" \
        --label "$1" --json "$3" >/dev/null
}

# Each system's data is made once and reused by its runs: the runs only read (keep mode).
# ------------------------------------------------------------------ Valv
VALV_PID="" VALV_DIR=$WORK/valv
valv_stop() {
    if [ -n "$VALV_PID" ]; then
        kill -TERM "$VALV_PID" 2>/dev/null || true
        for _ in $(seq 1 150); do kill -0 "$VALV_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$VALV_PID" 2>/dev/null || true
        wait "$VALV_PID" 2>/dev/null || true
        VALV_PID=""
    fi
}
valv_start() {
    CURRENT_STOP=valv_stop
    rm -f "$VALV_DIR/ready.json"
    # Defaults except plaintext passwords on the plain port (Dovecot gets the same).
    "$VALVD" --datadir "$VALV_DIR/data" --listen-address 127.0.0.1 --smtp-port 0 --imap-port 0 \
        --imaps-port 0 --pop3-port 0 --pop3s-port 0 --ready-file "$VALV_DIR/ready.json" \
        --allow-plaintext-auth --log-level warning >>"$VALV_DIR/valvd.log" 2>&1 &
    VALV_PID=$!
    wait_for 30 "valvd ready file" $PY -c 'import json,sys; json.load(open(sys.argv[1]))["pop3"]' "$VALV_DIR/ready.json"
}
valv_port() { $PY -c "import json,sys; print(json.load(open(sys.argv[1]))['$1'])" "$VALV_DIR/ready.json"; }
valv_setup() {
    mkdir -p "$VALV_DIR"
    "$VALVCTL" --datadir "$VALV_DIR/data" init --no-demo >"$VALV_DIR/valvctl.log" 2>&1 || die "valvctl init failed"
    "$VALVCTL" --datadir "$VALV_DIR/data" domain add bench.test >>"$VALV_DIR/valvctl.log" 2>&1 || die "valvctl domain add failed"
    for i in $(seq 1 "$CLIENTS"); do
        "$VALVCTL" --datadir "$VALV_DIR/data" user add "u$i@bench.test" --password "$PASSWORD" \
            >>"$VALV_DIR/valvctl.log" 2>&1 || die "valvctl user add failed"
    done
    valv_start
    log "valv: delivering $CLIENTS x $MESSAGES messages through SMTP"
    $PY "$HERE/pop3_load.py" smtp --port "$(valv_port smtp)" --users "$USER_LIST" \
        --messages "$MESSAGES" --seed "$SEED" || die "SMTP delivery to valvd failed"
    valv_stop
    CURRENT_STOP=""
}
bench_valv() {  # bench_valv RUN
    valv_start
    local port; port=$(valv_port pop3)
    wait_for 10 "valvd POP3 greeting" pop3_greeting_ok "$port"
    load valv "$port" "$WORK/results/valv-$1.json" || { tail -20 "$VALV_DIR/valvd.log" >&2; die "valv run $1 failed"; }
    valv_stop
    CURRENT_STOP=""
}

# ------------------------------------------------------------------ Dovecot
DOVE_DIR=$WORK/dovecot DOVE_PORT=""
dovecot_stop() {
    if [ -s "$DOVE_DIR/run/master.pid" ]; then
        local pid; pid=$(cat "$DOVE_DIR/run/master.pid")
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$DOVE_DIR/run/master.pid"
    fi
}
dovecot_setup() {
    mkdir -p "$DOVE_DIR/run" "$DOVE_DIR/state" "$DOVE_DIR/mail"
    chmod 755 "$DOVE_DIR" "$DOVE_DIR/run"
    log "dovecot: writing $CLIENTS x $MESSAGES messages as Maildir files"
    for i in $(seq 1 "$CLIENTS"); do
        $PY "$HERE/pop3_load.py" maildir "$DOVE_DIR/mail/bench.test/u$i/Maildir" --user-index "$i" \
            --messages "$MESSAGES" --seed "$SEED"
    done
    chown -R mail:mail "$DOVE_DIR/mail"
    DOVE_PORT=$(free_port)
    # Stock settings apart from paths, users, the listener and plaintext
    # passwords (as for valvd).  pop3_uidl_format and the rest stay default.
    cat > "$DOVE_DIR/dovecot.conf" <<EOF
# generated by tests/bench/pop3_bench.sh
instance_name = dovecot-pop3-bench
base_dir = $DOVE_DIR/run
state_dir = $DOVE_DIR/state
log_path = $DOVE_DIR/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
first_valid_uid = 8
mail_location = maildir:~/Maildir
passdb {
  driver = static
  args = password=$PASSWORD
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$DOVE_DIR/mail/%d/%n allow_all_users=yes
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $DOVE_PORT
  }
  inet_listener pop3s {
    port = 0
  }
}
EOF
}
bench_dovecot() {  # bench_dovecot RUN
    CURRENT_STOP=dovecot_stop
    dovecot -c "$DOVE_DIR/dovecot.conf" >"$DOVE_DIR/dovecot.start.log" 2>&1 || { cat "$DOVE_DIR/dovecot.start.log" "$DOVE_DIR/dovecot.log" >&2; die "dovecot failed to start"; }
    wait_for 30 "dovecot master.pid" test -s "$DOVE_DIR/run/master.pid"
    wait_for 30 "dovecot POP3 greeting" pop3_greeting_ok "$DOVE_PORT"
    load dovecot "$DOVE_PORT" "$WORK/results/dovecot-$1.json" || { tail -20 "$DOVE_DIR/dovecot.log" >&2; die "dovecot run $1 failed"; }
    dovecot_stop
    CURRENT_STOP=""
}

# ------------------------------------------------------------------ main
log "work dir $WORK; systems $SYSTEMS; $RUNS run(s); $CLIENTS clients x $MESSAGES messages"
IFS=, read -r -a systems <<< "$SYSTEMS"
for sys in "${systems[@]}"; do
    case "$sys" in
        valv) valv_setup ;;
        dovecot) dovecot_setup ;;
        *) die "unknown system $sys" ;;
    esac
done
for run in $(seq 1 "$RUNS"); do
    for sys in "${systems[@]}"; do   # interleaved, so drift hits both alike
        log "run $run/$RUNS: $sys"
        "bench_$sys" "$run"
        $PY -c 'import json,sys; r=json.load(open(sys.argv[1])); print("  %-8s %8.0f msgs/s %8.1f MB/s  (%d msgs, %.1f MB, %.2f s)" % (r["label"], r["msgs_per_s"], r["mb_per_s"], r["messages"], r["octets"]/1e6, r["seconds"]))' "$WORK/results/$sys-$run.json" >&2
    done
done

$PY - "$WORK/results" "$SYSTEMS" "$CLIENTS" "$MESSAGES" "$RUNS" <<'EOF'
import glob, json, os, statistics, sys
d, systems, clients, messages, runs = sys.argv[1], sys.argv[2].split(","), *sys.argv[3:]
med = {}
for s in systems:
    rs = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(d, s + "-*.json")))]
    med[s] = {k: statistics.median(r[k] for r in rs) for k in ("msgs_per_s", "mb_per_s", "seconds")}
    med[s]["octets"] = rs[0]["octets"]
print(f"\nPOP3 download, {clients} parallel clients x {messages} messages each, medians of {runs} runs")
print("| system | messages/s | MB/s | seconds | MB per run |")
print("| --- | --- | --- | --- | --- |")
for s in systems:
    m = med[s]
    print(f"| {s} | {m['msgs_per_s']:.0f} | {m['mb_per_s']:.1f} | {m['seconds']:.2f} | {m['octets']/1e6:.1f} |")
if "valv" in med and "dovecot" in med:
    print(f"| valv / dovecot | {med['valv']['msgs_per_s']/med['dovecot']['msgs_per_s']:.2f} | "
          f"{med['valv']['mb_per_s']/med['dovecot']['mb_per_s']:.2f} | | |")
EOF
