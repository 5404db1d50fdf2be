#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# shellcheck disable=SC2317  # functions reached through traps and variables
#
# IMAP benchmark: Valv (valvd) against Dovecot (private instance, Maildir) on
# this machine, same mailbox contents and the same operation mix, one after
# the other, in one run.  See tests/bench/README.md.  Not a test: prints
# numbers, asserts nothing about speed.  Exits non-zero only if a command
# failed in some run or a server failed to start.
#
# All traffic stays on loopback: the measuring part re-executes itself inside
# a fresh network namespace (unshare --net) that has only `lo`.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

CLIENTS=${CLIENTS:-8}
OPS=${OPS:-10000}
MESSAGES=${MESSAGES:-2000}
USERS=${USERS:-4}
IDLE_CONNS=${IDLE_CONNS:-1000}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
SYSTEMS=${SYSTEMS:-valv,dovecot}
VALV_BUILD_DIR=${VALV_BUILD_DIR:-/work/main/build}
KEEP=${KEEP:-0}
PASSWORD=bench-password-1

usage() {
    cat <<EOF
usage: $0 [-c CLIENTS] [-o OPS] [-m MESSAGES] [-u USERS] [-i IDLE_CONNS]
          [-r RUNS] [--seed N] [--systems valv,dovecot] [--keep]
  -c N          concurrent sessions in the timed mix          (default $CLIENTS)
  -o N          operations in the timed mix                   (default $OPS)
  -m N          messages in every INBOX                       (default $MESSAGES)
  -u N          users u1..uN@bench.test, one INBOX each       (default $USERS)
  -i N          idle connections for the memory measurement   (default $IDLE_CONNS; 0 = skip)
  -r N          runs per system; medians are reported         (default $RUNS)
  --seed N      seed of the mailbox contents and the op mix   (default $SEED)
  --systems L   comma list of valv, dovecot                   (default $SYSTEMS)
  --keep        keep the work directory (logs, stores)
Environment: VALV_BUILD_DIR (default /work/main/build; valvd and valvctl are
taken from \$VALV_BUILD_DIR/server/valvd/valvd and .../server/valvctl/valvctl).
The same settings may be given as environment variables CLIENTS, OPS,
MESSAGES, USERS, IDLE_CONNS, RUNS, SEED, SYSTEMS, KEEP=1.
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        -c) CLIENTS=$2; shift 2 ;;
        -o) OPS=$2; shift 2 ;;
        -m) MESSAGES=$2; shift 2 ;;
        -u) USERS=$2; shift 2 ;;
        -i) IDLE_CONNS=$2; shift 2 ;;
        -r) RUNS=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --systems) SYSTEMS=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
export CLIENTS OPS MESSAGES USERS IDLE_CONNS RUNS SEED SYSTEMS VALV_BUILD_DIR KEEP

BENCH_NAME=imap-bench BENCH_STOP_WAIT=15
# shellcheck source-path=SCRIPTDIR source=benchlib.sh
. "$HERE/benchlib.sh"

# idle connections + mix sessions + headroom, for the limits below
CONN_LIMIT=$(( IDLE_CONNS + CLIENTS + USERS + 1000 ))

# ---------------------------------------------------------------- outside netns
if [ -z "${IMAP_BENCH_IN_NETNS:-}" ]; then
    bench_require_root Dovecot
    bench_install dovecot "could not install Dovecot" dovecot-core dovecot-imapd
    bench_valv_or_peer_only
    bench_enter_netns IMAP_BENCH_IN_NETNS
fi

# ----------------------------------------------------------------- inside netns
bench_check_netns
# 1,000+ connections: the client and both servers (which inherit this) need
# more descriptors than the usual 1024
# (65536, or the hard limit if that is lower and cannot be raised here)
NOFILE=65536
ulimit -Hn "$NOFILE" 2>/dev/null || { h=$(ulimit -Hn); [ "$h" = unlimited ] || [ "$h" -ge "$NOFILE" ] || NOFILE=$h; }
ulimit -n "$NOFILE" || die "cannot raise the open-files limit (ulimit -n $NOFILE)"
[ "$NOFILE" -ge $((2 * IDLE_CONNS + 2 * CLIENTS + 256)) ] ||
    die "open-files limit $NOFILE is too low for $IDLE_CONNS idle connections"

bench_workdir

USER_LIST=$(bench_user_list "$USERS")

imap_greeting_ok() { greeting_ok "$1" "* OK" "a LOGOUT"; }

run_load() {  # run_load LABEL PORT SERVER-PID RESULT-JSON
    local label=$1 port=$2 pid=$3 out=$4
    bench_load "$PY" "$HERE/imap_load.py" --host 127.0.0.1 --port "$port" --users "$USER_LIST" \
        --password "$PASSWORD" --messages "$MESSAGES" --seed "$SEED" \
        --clients "$CLIENTS" --ops "$OPS" --idle-conns "$IDLE_CONNS" --mem-pid "$pid" \
        --label "$label" --json "$out"
}

# ------------------------------------------------------------------ Valv
bench_valv() {  # bench_valv RUN
    local run=$1 d=$WORK/valv-$1
    valv_init "$d" "$USERS"
    # Defaults except: plaintext LOGIN on the plain port (Dovecot gets the
    # same), and connection limits high enough for the idle phase.
    valv_start "$d" imap --allow-plaintext-auth \
        --max-connections-per-ip "$CONN_LIMIT" --max-connections "$CONN_LIMIT"
    local imap
    imap=$(valv_port "$d" imap)
    wait_for 10 "valvd IMAP greeting" imap_greeting_ok "$imap"
    local rc=0
    run_load valv "$imap" "$VALV_PID" "$WORK/results/valv-$run.json" || rc=$?
    valv_stop
    CURRENT_STOP=""
    [ -s "$WORK/results/valv-$run.json" ] || { tail -20 "$d/valvd.log" >&2; die "valv run $run produced no result"; }
    if [ "$rc" != 0 ]; then grep -v ' INFO ' "$d/valvd.log" | tail -10 >&2 || true; fi
    return "$rc"
}

# ------------------------------------------------------------------ Dovecot
DOVE_BASE=""
dovecot_stop() {
    if [ -n "$DOVE_BASE" ] && [ -s "$DOVE_BASE/master.pid" ]; then
        bench_kill "$(cat "$DOVE_BASE/master.pid")"
        DOVE_BASE=""
    fi
}

bench_dovecot() {  # bench_dovecot RUN
    local run=$1 d=$WORK/dovecot-$1
    mkdir -p "$d/run" "$d/state" "$d/mail"
    chmod 755 "$d" "$d/run"
    chown mail:mail "$d/mail"
    local port; port=$(free_port)
    # Stock settings apart from paths, users, the listener, plaintext LOGIN
    # (as for valvd) and the limits that 1,000+ connections from one address
    # need.  mail_fsync stays at its default (optimized: saved messages are
    # fsync()ed before APPEND is answered); imap_hibernate_timeout stays 0.
    dovecot_conf_common "$d" run state "dovecot-imap-bench-$run" imap > "$d/dovecot.conf"
    cat >> "$d/dovecot.conf" <<EOF
disable_plaintext_auth = no
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
  process_limit = $CONN_LIMIT
  client_limit = $CONN_LIMIT
}
service imap {
  process_limit = $CONN_LIMIT
}
service anvil {
  client_limit = $((2 * CONN_LIMIT + 100))
}
service auth {
  client_limit = $((2 * CONN_LIMIT + 100))
}
service stats {
  client_limit = $((2 * CONN_LIMIT + 100))
}
protocol imap {
  mail_max_userip_connections = $CONN_LIMIT
}
EOF
    DOVE_BASE=$d/run
    CURRENT_STOP=dovecot_stop
    dovecot_start "$d"
    wait_for 30 "dovecot master.pid" test -s "$d/run/master.pid"
    wait_for 30 "dovecot IMAP greeting" imap_greeting_ok "$port"
    local rc=0
    run_load dovecot "$port" "$(cat "$d/run/master.pid")" "$WORK/results/dovecot-$run.json" || rc=$?
    dovecot_stop
    CURRENT_STOP=""
    [ -s "$WORK/results/dovecot-$run.json" ] || { tail -20 "$d/dovecot.log" >&2; die "dovecot run $run produced no result"; }
    if [ "$rc" != 0 ]; then grep -v -e ' Info: ' -e 'Inotify instance limit' "$d/dovecot.log" | tail -20 >&2 || true; fi
    return "$rc"
}

# ------------------------------------------------------------------ main
log "work dir $WORK; systems $SYSTEMS; $RUNS run(s); $USERS x $MESSAGES msgs, $CLIENTS clients x $OPS ops, $IDLE_CONNS idle conns"
print_run() {
    $PY -c '
import json, sys
r = json.load(open(sys.argv[1]))
f = lambda k, p=1: "-" if r.get(k) is None else "%.*f" % (p, r[k])
print("  load %ss  mix %s ops/s  p50 %s ms  p99 %s ms  errors %s  client cpu %s s  idle %s/%s conns  RSS/conn %s KiB  PSS/conn %s KiB%s"
      % (f("load_s"), f("ops_rate"), f("p50_ms", 2), f("p99_ms", 2), r.get("errors"), f("client_cpu_s", 2),
         r.get("idle_conns", "-"), r.get("idle_wanted", "-"), f("rss_per_conn_kb"), f("pss_per_conn_kb"),
         "" if r["ok"] else "  FAILED: %s" % (r.get("error_samples", []) + r.get("idle_error_samples", []))[:3]))' "$1"
}
bench_interleave valv,dovecot print_run

DOVECOT_VERSION=$(dovecot --version 2>/dev/null || echo "?")
BENCH_MACHINE=$(bench_machine)
export DOVECOT_VERSION BENCH_MACHINE
$PY - "$WORK/results" <<'EOF'
import glob, json, os, statistics, sys

res = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    r = json.load(open(f))
    res.setdefault(r["label"], []).append(r)

def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None

def mk(rs, key):
    return med([r.get(key) for r in rs])

def mop(rs, op, key):
    return med([r.get("per_op", {}).get(op, {}).get(key) for r in rs])

names = {"valv": "valvd", "dovecot": "dovecot"}
labels = [l for l in ("valv", "dovecot") if l in res]
both = len(labels) == 2
f = lambda v, p=1: "-" if v is None else f"{v:.{p}f}"
ratio = lambda a, b: "-" if not a or not b else f"{a / b:.2f}x"
any_r = next(iter(res.values()))[0]
print()
print(f"machine: {os.environ['BENCH_MACHINE']}; dovecot {os.environ['DOVECOT_VERSION']}")
mb = any_r.get("mailbox_bytes")
print(f"load: {os.environ['USERS']} INBOXes x {os.environ['MESSAGES']} msgs"
      f"{'' if mb is None else f' ({mb / 1e6:.1f} MB each)'}, seed {os.environ['SEED']}; "
      f"{os.environ['CLIENTS']} clients, {os.environ['OPS']} ops; "
      f"{os.environ['IDLE_CONNS']} idle conns; median of {os.environ['RUNS']} run(s) per system")

print()
hdr = f"{'system':<16} {'ops/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'runs ok':>7} {'load s':>7}"
print(hdr)
print("-" * len(hdr))
for l in labels:
    rs = res[l]
    print(f"{names[l]:<16} {f(mk(rs, 'ops_rate')):>8} {f(mk(rs, 'p50_ms'), 2):>8} {f(mk(rs, 'p99_ms'), 2):>8} "
          f"{f(mk(rs, 'errors'), 0):>6} {sum(r['ok'] for r in rs):>3}/{len(rs):<3} {f(mk(rs, 'load_s')):>7}")
if both:
    v, p = res["valv"], res["dovecot"]
    print(f"{'ratio valv/peer':<16} {ratio(mk(v, 'ops_rate'), mk(p, 'ops_rate')):>8} "
          f"{ratio(mk(v, 'p50_ms'), mk(p, 'p50_ms')):>8} {ratio(mk(v, 'p99_ms'), mk(p, 'p99_ms')):>8} "
          f"{'':>6} {'':>7} {ratio(mk(v, 'load_s'), mk(p, 'load_s')):>7}")

ops = ["select", "fetch_hdr", "fetch_body", "store", "search", "append", "expunge", "idle"]
print()
cols = [f"{names[l]} {k}" for l in labels for k in ("p50", "p99")]
if both:
    cols += ["ratio p50", "ratio p99"]
hdr = f"{'operation (ms)':<16} {'n':>6} " + " ".join(f"{c:>12}" for c in cols)
print(hdr)
print("-" * len(hdr))
for op in ops + ["overall"]:
    vals, n = [], None
    for l in labels:
        rs = res[l]
        if op == "overall":
            a, b = mk(rs, "p50_ms"), mk(rs, "p99_ms")
            n = n or mk(rs, "ops")
        else:
            a, b = mop(rs, op, "p50_ms"), mop(rs, op, "p99_ms")
            n = n or mop(rs, op, "n")
        vals.append((a, b))
    cells = [f(x, 2) for ab in vals for x in ab]
    if both:
        cells += [ratio(vals[0][0], vals[1][0]), ratio(vals[0][1], vals[1][1])]
    print(f"{op:<16} {f(n, 0):>6} " + " ".join(f"{c:>12}" for c in cells))

if any(r.get("idle_conns") for rs in res.values() for r in rs):
    print()
    hdr = (f"{'idle memory':<16} {'conns':>6} {'RSS before MB':>13} {'RSS after MB':>12} "
           f"{'RSS/conn KiB':>12} {'PSS/conn KiB':>12} {'anon/conn KiB':>13} {'procs after':>11}")
    print(hdr)
    print("-" * len(hdr))
    for l in labels:
        rs = res[l]
        mbv = lambda k: None if mk(rs, k) is None else mk(rs, k) / 1024
        print(f"{names[l]:<16} {f(mk(rs, 'idle_conns'), 0):>6} {f(mbv('rss_before_kb')):>13} "
              f"{f(mbv('rss_after_kb')):>12} {f(mk(rs, 'rss_per_conn_kb')):>12} "
              f"{f(mk(rs, 'pss_per_conn_kb')):>12} {f(mk(rs, 'anon_per_conn_kb')):>13} "
              f"{f(mk(rs, 'procs_after'), 0):>11}")
    if both:
        v, p = res["valv"], res["dovecot"]
        print(f"{'ratio valv/peer':<16} {'':>6} {ratio(mk(v, 'rss_before_kb'), mk(p, 'rss_before_kb')):>13} "
              f"{ratio(mk(v, 'rss_after_kb'), mk(p, 'rss_after_kb')):>12} "
              f"{ratio(mk(v, 'rss_per_conn_kb'), mk(p, 'rss_per_conn_kb')):>12} "
              f"{ratio(mk(v, 'pss_per_conn_kb'), mk(p, 'pss_per_conn_kb')):>12} "
              f"{ratio(mk(v, 'anon_per_conn_kb'), mk(p, 'anon_per_conn_kb')):>13}")
print()
print("ops/s: completed operations / wall time of the mix (closed loop, one command at a time per")
print("session); p50/p99: nearest-rank latency, command written .. tagged response read. Operation")
print("mix by weight: select 5, fetch_hdr 25, fetch_body 20, store 15, search 10, append 10,")
print("expunge 5, idle 10 (see imap_load.py). load s: untimed APPEND of the mailboxes, for reference.")
print("Idle memory: server process tree (valvd: one process; dovecot: master and all children)")
print("sampled before and after N connections LOGIN, SELECT INBOX, IDLE; per conn = delta / N.")
print("RSS counts shared pages once per process; PSS divides them among the processes sharing them;")
print("anon = RssAnon (heap, stacks: memory that is the connection's own, not file or page cache).")
print("For latencies and memory a ratio < 1 means Valv is faster/smaller; for ops/s a ratio > 1 does.")
EOF
exit $failed
