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

BENCH_NAME=smtp-bench BENCH_STOP_WAIT=10
# shellcheck source-path=SCRIPTDIR source=benchlib.sh
. "$HERE/benchlib.sh"

# ---------------------------------------------------------------- outside netns
if [ -z "${SMTP_BENCH_IN_NETNS:-}" ]; then
    bench_require_root "Postfix/Dovecot"
    bench_install postfix "could not install Postfix/Dovecot" postfix dovecot-core dovecot-lmtpd dovecot-imapd
    bench_valv_or_peer_only
    bench_enter_netns SMTP_BENCH_IN_NETNS
fi

# ----------------------------------------------------------------- inside netns
bench_check_netns
bench_workdir

RCPTS=$(bench_user_list "$USERS")

smtp_banner_ok() { greeting_ok "$1" 220 QUIT; }

run_load() {  # run_load LABEL PORT RESULT-JSON extra args...
    local label=$1 port=$2 out=$3; shift 3
    bench_load "$PY" "$HERE/smtpload.py" --host 127.0.0.1 --port "$port" \
        --concurrency "$CONCURRENCY" --messages "$MESSAGES" --size "$SIZE" \
        --rcpt "$RCPTS" --label "$label" --json "$out" --e2e-timeout "$E2E_TIMEOUT" "$@"
}

# ------------------------------------------------------------------ Valv
bench_valv() {  # bench_valv RUN
    local run=$1 d=$WORK/valv-$1
    valv_init "$d" "$USERS"
    valv_start "$d" smtp
    local smtp imap
    smtp=$(valv_port "$d" smtp)
    imap=$(valv_port "$d" imap)
    wait_for 10 "valvd SMTP banner" smtp_banner_ok "$smtp"
    local rc=0
    run_load valv "$smtp" "$WORK/results/valv-$run.json" \
        --count-imap "$imap" --password "$PASSWORD" || rc=$?
    valv_stop
    CURRENT_STOP=""
    [ -s "$WORK/results/valv-$run.json" ] || { tail -20 "$d/valvd.log" >&2; die "valv run $run produced no result"; }
    return "$rc"
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
        bench_kill "$(cat "$DOVE_BASE/master.pid")"
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
    dovecot_conf_common "$d" dovecot-run dovecot-state "dovecot-bench-$run" lmtp > "$DOVE_CONF"
    cat >> "$DOVE_CONF" <<EOF
hostname = mx.bench.test
postmaster_address = postmaster@bench.test
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
EOF
    CURRENT_STOP=peer_stop
    dovecot_start "$d"
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
    if [ "$rc" != 0 ]; then tail -20 "$d/postfix.log" "$d/dovecot.log" >&2 || true; fi
    return "$rc"
}

# ------------------------------------------------------------------ main
log "work dir $WORK; systems $SYSTEMS; $RUNS run(s) of $MESSAGES x $SIZE B, $CONCURRENCY sessions, $USERS recipients"
print_run() {
    $PY -c 'import json,sys; r=json.load(open(sys.argv[1])); print("  accepted %d/%d  %.1f msg/s  p50 %.2f ms  p99 %.2f ms  e2e %s msg/s  client cpu %.2f s%s" % (r["accepted"], r["messages"], r.get("accept_rate",0), r.get("p50_ms",0), r.get("p99_ms",0), "%.1f" % r["e2e_rate"] if r.get("e2e_rate") else "-", r["client_cpu_s"], "" if r["ok"] else "  FAILED: %s" % r["error_samples"][:1]))' "$1"
}
bench_interleave valv,postfix print_run

POSTFIX_VERSION=$(postconf -d -h mail_version 2>/dev/null || echo "?")
DOVECOT_VERSION=$(dovecot --version 2>/dev/null || echo "?")
BENCH_MACHINE=$(bench_machine)
export POSTFIX_VERSION DOVECOT_VERSION BENCH_MACHINE
$PY - "$WORK/results" <<'EOF'
import glob, json, os, statistics, sys

res = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    r = json.load(open(f))
    res.setdefault(r["label"], []).append(r)

def med(rs, key):
    vals = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(vals) if vals else None

names = {"valv": "valvd", "postfix": "postfix+dovecot"}
print()
print(f"machine: {os.environ['BENCH_MACHINE']}; postfix {os.environ['POSTFIX_VERSION']}, "
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
