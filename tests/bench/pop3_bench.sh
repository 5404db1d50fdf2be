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

BENCH_NAME=pop3-bench BENCH_STOP_WAIT=15
# shellcheck source-path=SCRIPTDIR source=benchlib.sh
. "$HERE/benchlib.sh"

# ---------------------------------------------------------------- outside netns
if [ -z "${POP3_BENCH_IN_NETNS:-}" ]; then
    bench_require_root Dovecot
    bench_install dovecot "could not install Dovecot's POP3 server" dovecot-core dovecot-pop3d
    if [[ ",$SYSTEMS," == *,valv,* ]]; then
        [ -x "$VALVD" ] && [ -x "$VALVCTL" ] || die "$VALVD or $VALVCTL missing (build with -DCMAKE_BUILD_TYPE=Release, set VALV_BUILD_DIR)"
    fi
    bench_enter_netns POP3_BENCH_IN_NETNS
fi

# ----------------------------------------------------------------- inside netns
bench_check_netns
bench_workdir

USER_LIST=$(bench_user_list "$CLIENTS")

pop3_greeting_ok() { greeting_ok "$1" +OK QUIT; }

load() {  # load LABEL PORT RESULT-JSON
    $PY "$HERE/pop3_load.py" load --port "$2" --users "$USER_LIST" --password "$PASSWORD" \
        --warmup >/dev/null
    $PY "$HERE/pop3_load.py" load --port "$2" --users "$USER_LIST" --password "$PASSWORD" \
        --label "$1" --json "$3" >/dev/null
}

# Each system's data is made once and reused by its runs: the runs only read (keep mode).
# ------------------------------------------------------------------ Valv
VALV_DIR=$WORK/valv
# Defaults except plaintext passwords on the plain port (Dovecot gets the same).
valv_start_pop3() { valv_start "$VALV_DIR" pop3 --allow-plaintext-auth --log-level warning; }
valv_setup() {
    valv_init "$VALV_DIR" "$CLIENTS"
    valv_start_pop3
    log "valv: delivering $CLIENTS x $MESSAGES messages through SMTP"
    $PY "$HERE/pop3_load.py" smtp --port "$(valv_port "$VALV_DIR" smtp)" --users "$USER_LIST" \
        --messages "$MESSAGES" --seed "$SEED" || die "SMTP delivery to valvd failed"
    valv_stop
    CURRENT_STOP=""
}
bench_valv() {  # bench_valv RUN
    valv_start_pop3
    local port; port=$(valv_port "$VALV_DIR" pop3)
    wait_for 10 "valvd POP3 greeting" pop3_greeting_ok "$port"
    load valv "$port" "$WORK/results/valv-$1.json" || { tail -20 "$VALV_DIR/valvd.log" >&2; die "valv run $1 failed"; }
    valv_stop
    CURRENT_STOP=""
}

# ------------------------------------------------------------------ Dovecot
DOVE_DIR=$WORK/dovecot DOVE_PORT=""
dovecot_stop() {
    if [ -s "$DOVE_DIR/run/master.pid" ]; then
        bench_kill "$(cat "$DOVE_DIR/run/master.pid")"
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
    dovecot_conf_common "$DOVE_DIR" run state dovecot-pop3-bench pop3 > "$DOVE_DIR/dovecot.conf"
    cat >> "$DOVE_DIR/dovecot.conf" <<EOF
disable_plaintext_auth = no
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
    dovecot_start "$DOVE_DIR"
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
