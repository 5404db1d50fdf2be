# SPDX-License-Identifier: AGPL-3.0-or-later
# shellcheck shell=bash disable=SC2034,SC2317  # variables used by the scripts; functions via traps
#
# Scaffolding shared by the benchmark scripts in this folder (smtp_delivery.sh,
# imap_bench.sh, pop3_bench.sh).  Sourced, never run.
#
# Implementation notes
# - The script sets BENCH_NAME (log prefix and work dir name, e.g. smtp-bench)
#   and BENCH_STOP_WAIT (seconds a server gets between TERM and KILL), parses
#   its options, exports them, and only then sources this file: VALVD and
#   VALVCTL come from the final VALV_BUILD_DIR.
# - Everything that measures runs inside a network namespace that has only
#   `lo` (bench_enter_netns re-executes the script there, settings travel in
#   the environment); bench_check_netns refuses to go on if anything but
#   loopback is routable.
# - CURRENT_STOP names the function that stops the server that is running and
#   LOAD_PID the load generator: the EXIT trap stops both, so an interrupted
#   run leaves no server behind.

PY=/usr/bin/python3
VALVD=$VALV_BUILD_DIR/server/valvd/valvd
VALVCTL=$VALV_BUILD_DIR/server/valvctl/valvctl
CURRENT_STOP="" LOAD_PID="" VALV_PID=""

log() { echo "[$BENCH_NAME $(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

# ------------------------------------------------------- outside the namespace
bench_require_root() {  # bench_require_root PEER-NAMES
    [ "$(id -u)" = 0 ] || die "run as root (installs packages, runs $1, makes a network namespace)"
}

# Installs PKGs if SYSTEMS names PEER and any is missing, with a temporary
# policy-rc.d so that no system service starts, and apt-get update only if the
# first attempt fails.
bench_install() {  # bench_install PEER FAILURE-MESSAGE PKG...
    local peer=$1 failure=$2; shift 2
    [[ ",$SYSTEMS," == *,$peer,* ]] || return 0
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    log "installing ${missing[*]}"
    local made_policy=0 ok=1
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    if [[ " $* " == *" postfix "* ]]; then
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2 || ok=0
    if [ $ok = 0 ]; then
        apt-get update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2 || ok=0
    fi
    if [ $made_policy = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
    [ $ok = 1 ] || die "$failure"
}

# Without valvd/valvctl, drops valv from SYSTEMS (with a warning) and measures the peer only.
bench_valv_or_peer_only() {
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
}

bench_enter_netns() {  # bench_enter_netns MARKER-VARIABLE: re-executes the script in a new netns
    command -v unshare >/dev/null || die "unshare (util-linux) is needed to keep traffic on loopback"
    exec env "$1=1" unshare --net -- bash "$0"
}

# -------------------------------------------------------- inside the namespace
bench_check_netns() {
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
}

# WORK (/var/tmp/valv-$BENCH_NAME.*, with results/), removed on exit unless KEEP=1.
bench_workdir() {
    WORK=$(mktemp -d "/var/tmp/valv-$BENCH_NAME.XXXXXX")
    chmod 755 "$WORK"
    mkdir -p "$WORK/results"
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    set +e
    [ -n "$LOAD_PID" ] && kill -TERM "$LOAD_PID" 2>/dev/null && wait "$LOAD_PID" 2>/dev/null
    [ -n "$CURRENT_STOP" ] && $CURRENT_STOP
    if [ "$KEEP" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}

bench_user_list() {  # bench_user_list N: u1@bench.test,...,uN@bench.test
    for i in $(seq 1 "$1"); do printf 'u%d@bench.test,' "$i"; done | sed 's/,$//'
}

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

# Succeeds if the server on 127.0.0.1:PORT greets with a line starting with PREFIX;
# then sends BYE (a CRLF is added).
greeting_ok() {  # greeting_ok PORT PREFIX BYE
    $PY - "$@" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
line = s.makefile("rb").readline()
s.sendall(sys.argv[3].encode() + b"\r\n")
sys.exit(0 if line.startswith(sys.argv[2].encode()) else 1)
EOF
}

# Runs the load generator in the background (so that a signal's trap runs at
# once), its stdout discarded; returns its exit status.
bench_load() {  # bench_load COMMAND...
    "$@" >/dev/null &
    LOAD_PID=$!
    local rc=0
    wait "$LOAD_PID" || rc=$?
    LOAD_PID=""
    return $rc
}

bench_kill() {  # bench_kill PID: TERM, up to BENCH_STOP_WAIT seconds to exit, then KILL
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 1 $((BENCH_STOP_WAIT * 10))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
}

# Interleaved runs (run 1 of every system, then run 2, ...), so drift on the
# machine hits all alike.  bench_SYSTEM RUN does one run; PRINT-FN gets the
# run's result JSON and writes a line to stderr.  Sets failed=1 if a run fails.
bench_interleave() {  # bench_interleave KNOWN-SYSTEMS PRINT-FN
    local run sys
    failed=0
    IFS=, read -r -a systems <<< "$SYSTEMS"
    for run in $(seq 1 "$RUNS"); do
        for sys in "${systems[@]}"; do
            log "run $run/$RUNS: $sys"
            [[ ",$1," == *,$sys,* ]] || die "unknown system $sys"
            "bench_$sys" "$run" || failed=1
            "$2" "$WORK/results/$sys-$run.json" >&2
        done
    done
}

bench_machine() {  # one line: cpus, CPU model, kernel, Python
    $PY - <<'EOF'
import os, platform
cpu = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
print(f"{os.cpu_count()} cpus ({cpu}), {platform.system()} {platform.release()}, "
      f"python {platform.python_version()}")
EOF
}

# ------------------------------------------------------------------ Valv
valv_init() {  # valv_init DIR USERS: DIR/data with domain bench.test and users u1..uN
    local d=$1 i
    mkdir -p "$d"
    "$VALVCTL" --datadir "$d/data" init --no-demo >"$d/valvctl.log" 2>&1 || { cat "$d/valvctl.log" >&2; die "valvctl init failed"; }
    "$VALVCTL" --datadir "$d/data" domain add bench.test >>"$d/valvctl.log" 2>&1 || die "valvctl domain add failed"
    for i in $(seq 1 "$2"); do
        "$VALVCTL" --datadir "$d/data" user add "u$i@bench.test" --password "$PASSWORD" \
            >>"$d/valvctl.log" 2>&1 || { cat "$d/valvctl.log" >&2; die "valvctl user add failed"; }
    done
}

# Starts valvd on 127.0.0.1 with every port 0 and waits until DIR/ready.json
# names PROTOCOL's port; VALVD-ARGS are added to the command line.
valv_start() {  # valv_start DIR PROTOCOL [VALVD-ARGS...]
    local d=$1 proto=$2; shift 2
    CURRENT_STOP=valv_stop
    rm -f "$d/ready.json"
    "$VALVD" --datadir "$d/data" --listen-address 127.0.0.1 --smtp-port 0 --imap-port 0 \
        --imaps-port 0 --pop3-port 0 --pop3s-port 0 --ready-file "$d/ready.json" "$@" \
        >>"$d/valvd.log" 2>&1 &
    VALV_PID=$!
    wait_for 30 "valvd ready file" $PY -c 'import json,sys; json.load(open(sys.argv[1]))[sys.argv[2]]' "$d/ready.json" "$proto"
}

valv_port() {  # valv_port DIR PROTOCOL
    $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1/ready.json" "$2"
}

valv_stop() {
    if [ -n "$VALV_PID" ]; then
        bench_kill "$VALV_PID"
        wait "$VALV_PID" 2>/dev/null || true
        VALV_PID=""
    fi
}

# --------------------------------------------------------------- Dovecot
# The start of a private Dovecot's config: DIR/RUN-SUBDIR as base_dir,
# DIR/STATE-SUBDIR, DIR/dovecot.log, plaintext on 127.0.0.1 only, static users
# with password $PASSWORD and Maildirs under DIR/mail.  Stock otherwise.
dovecot_conf_common() {  # dovecot_conf_common DIR RUN-SUBDIR STATE-SUBDIR INSTANCE PROTOCOLS
    cat <<EOF
# generated by tests/bench/$(basename "$0")
instance_name = $4
base_dir = $1/$2
state_dir = $1/$3
log_path = $1/dovecot.log
protocols = $5
listen = 127.0.0.1
ssl = no
first_valid_uid = 8
mail_location = maildir:~/Maildir
passdb {
  driver = static
  args = password=$PASSWORD
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$1/mail/%d/%n allow_all_users=yes
}
EOF
}

dovecot_start() {  # dovecot_start DIR: runs dovecot -c DIR/dovecot.conf
    dovecot -c "$1/dovecot.conf" >"$1/dovecot.start.log" 2>&1 || { cat "$1/dovecot.start.log" "$1/dovecot.log" >&2; die "dovecot failed to start"; }
}
