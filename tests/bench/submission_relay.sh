#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# shellcheck disable=SC2317  # functions reached through traps and variables
#
# Submission-to-remote-delivery benchmark: N clients submit (STARTTLS, AUTH
# PLAIN) to a sending server that queues each message and relays it, after an
# MX lookup through a loopback dnsmasq, to a second server.  Valv (valvd A on
# 127.0.0.2) against Postfix (Debian, private instance with Dovecot SASL on
# 127.0.0.2), both relaying to the same receiver on 127.0.0.3:25: a fresh
# valvd B that stores every message, and Postfix's smtp-sink (no storage, so
# the sender's cost stands alone).  See tests/bench/README.md.  Not a test:
# prints numbers, asserts nothing about speed.  Exits non-zero only if a run
# lost, duplicated or refused messages or a server failed to start.
#
# All traffic stays on loopback: the measuring part re-executes itself inside
# a fresh network and mount namespace (unshare --net --mount) that has only
# `lo`; /etc/resolv.conf is bind-mounted there (only there) to name the
# benchmark's dnsmasq, which is what Postfix's resolver reads.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

CONCURRENCY=${CONCURRENCY:-8}
MESSAGES=${MESSAGES:-1000}
SIZE=${SIZE:-10240}
RUNS=${RUNS:-3}
USERS=${USERS:-4}
SYSTEMS=${SYSTEMS:-valv,postfix}
RECEIVERS=${RECEIVERS:-valvd,smtp-sink}
VALV_BUILD_DIR=${VALV_BUILD_DIR:-/work/main/build}
KEEP=${KEEP:-0}
E2E_TIMEOUT=${E2E_TIMEOUT:-300}   # seconds to wait for the receiver after the last 250
PASSWORD=bench-password-1
SENDER=sender@a.test

usage() {
    cat <<EOF
usage: $0 [-c CLIENTS] [-m MESSAGES] [-s SIZE] [-r RUNS] [-u USERS]
          [--systems valv,postfix] [--receivers valvd,smtp-sink] [--keep]
  -c N          parallel submission sessions            (default $CONCURRENCY)
  -m N          messages per run                        (default $MESSAGES)
  -s BYTES      message size as submitted               (default $SIZE)
  -r N          runs per system and receiver; medians   (default $RUNS)
  -u N          recipients u1..uN@sink.test             (default $USERS)
  --systems L   senders: valv, valv-rcN (valvd with remote_concurrency N),
                postfix                                 (default $SYSTEMS)
  --receivers L valvd (a second valvd storing the mail), smtp-sink
                                                        (default $RECEIVERS)
  --keep        keep the work directory (logs, queues, stores)
Environment: VALV_BUILD_DIR (default /work/main/build; valvd and valvctl are
taken from \$VALV_BUILD_DIR/server/valvd/valvd and .../server/valvctl/valvctl).
The same settings may be given as environment variables CONCURRENCY, MESSAGES,
SIZE, RUNS, USERS, SYSTEMS, RECEIVERS, KEEP=1, E2E_TIMEOUT.
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
        --receivers) RECEIVERS=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

BENCH_NAME=relay-bench BENCH_STOP_WAIT=15
# shellcheck source-path=SCRIPTDIR source=benchlib.sh
. "$HERE/benchlib.sh"

SEND_ADDR=127.0.0.2     # valvd A / Postfix (submission, and the relay's side)
RECV_ADDR=127.0.0.3     # valvd B / smtp-sink, port 25 (what an MX lookup gives)
DNS_ADDR=127.0.0.54     # dnsmasq

VALVD_HELP=""
valvd_has() {  # valvd_has OPTION: does this valvd know --OPTION?
    [ -n "$VALVD_HELP" ] || VALVD_HELP=$("$VALVD" --help 2>/dev/null || true)
    [[ $VALVD_HELP == *"--$1 "* ]]
}

# ---------------------------------------------------------------- outside netns
if [ -z "${RELAY_BENCH_IN_NETNS:-}" ]; then
    bench_require_root "Postfix/Dovecot/dnsmasq"
    for s in ${SYSTEMS//,/ }; do
        [[ $s =~ ^(valv|valv-rc[0-9]+|postfix)$ ]] || die "unknown system $s"
    done
    for r in ${RECEIVERS//,/ }; do
        [[ $r =~ ^(valvd|smtp-sink)$ ]] || die "unknown receiver $r"
    done
    PKGS=(dnsmasq-base)
    [[ ",$SYSTEMS,$RECEIVERS," == *,postfix,* || ",$RECEIVERS," == *,smtp-sink,* ]] && PKGS+=(postfix)
    [[ ",$SYSTEMS," == *,postfix,* ]] && PKGS+=(dovecot-core)
    SYSTEMS="$SYSTEMS,postfix" bench_install postfix "could not install ${PKGS[*]}" "${PKGS[@]}"
    if [[ ",$SYSTEMS,$RECEIVERS," == *,valv* ]]; then
        { [ -x "$VALVD" ] && [ -x "$VALVCTL" ]; } || die "$VALVD or $VALVCTL missing (build: cmake -S /work/main -B /work/build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C /work/build-bench valvd valvctl; then VALV_BUILD_DIR=/work/build-bench)"
    fi
    if [[ ",$SYSTEMS," == *,valv* ]] && ! { valvd_has submission-port && valvd_has dns-resolver; }; then
        log "warning: this valvd has no --submission-port/--dns-resolver (no sending side yet): measuring postfix only"
        SYSTEMS=$(echo ",$SYSTEMS," | sed -E 's/,valv(-rc[0-9]+)?//g; s/^,//; s/,$//')
    fi
    [ -n "$SYSTEMS" ] || die "nothing to benchmark"
    export CONCURRENCY MESSAGES SIZE RUNS USERS SYSTEMS RECEIVERS VALV_BUILD_DIR KEEP E2E_TIMEOUT
    command -v unshare >/dev/null || die "unshare (util-linux) is needed to keep traffic on loopback"
    exec env RELAY_BENCH_IN_NETNS=1 unshare --net --mount --propagation private -- bash "$0"
fi

# ----------------------------------------------------------------- inside netns
bench_check_netns
bench_workdir
CURRENT_STOP=stop_all
# 127.0.0.0/8 all answers on lo already, but Postfix binds only to addresses an
# interface has (inet_interfaces): give lo the three this benchmark uses.
for a in "$SEND_ADDR" "$RECV_ADDR" "$DNS_ADDR"; do
    ip addr add "$a/32" dev lo 2>/dev/null || ip addr show dev lo | grep -q "inet $a/" || die "cannot add $a to lo"
done

RCPTS=$(for i in $(seq 1 "$USERS"); do printf 'u%d@sink.test,' "$i"; done | sed 's/,$//')

banner_ok() {  # banner_ok HOST PORT: an SMTP 220 greeting
    $PY - "$@" <<'EOF'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
line = s.makefile("rb").readline()
s.sendall(b"QUIT\r\n")
sys.exit(0 if line.startswith(b"220") else 1)
EOF
}

ready_port() {  # ready_port FILE KEY: a port from a valvd ready file (fails until it is there)
    $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}
ready_has() { ready_port "$@" >/dev/null; }

# ------------------------------------------------------------- DNS (dnsmasq)
# One dnsmasq for the whole invocation: sink.test's MX is mx.sink.test =
# 127.0.0.3; every other name under .test is answered locally (NXDOMAIN), and
# with no-resolv nothing is ever forwarded.  Postfix's resolver reads
# /etc/resolv.conf, which in this mount namespace names only dnsmasq.
DNS_PID=""
cat > "$WORK/dnsmasq.conf" <<EOF
# generated by tests/bench/submission_relay.sh
port=53
listen-address=$DNS_ADDR
bind-interfaces
no-resolv
no-hosts
local=/test/
mx-host=sink.test,mx.sink.test,10
host-record=mx.sink.test,$RECV_ADDR
host-record=mail.a.test,$SEND_ADDR
pid-file=$WORK/dnsmasq.pid
log-facility=$WORK/dnsmasq.log
user=root
EOF
dnsmasq -k -C "$WORK/dnsmasq.conf" 2>>"$WORK/dnsmasq.log" &
DNS_PID=$!
echo "nameserver $DNS_ADDR" > "$WORK/resolv.conf"
mount --bind "$WORK/resolv.conf" /etc/resolv.conf || die "cannot bind-mount a private /etc/resolv.conf"
mx_ok() {
    $PY - <<'EOF'
import socket
# the system resolver (what Postfix uses) must see the dnsmasq: mx.sink.test -> 127.0.0.3
assert socket.gethostbyname("mx.sink.test") == "127.0.0.3"
EOF
}
wait_for 10 "dnsmasq" mx_ok

# --------------------------------------------------------- TLS for Postfix
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mail.a.test \
    -keyout "$WORK/postfix-key.pem" -out "$WORK/postfix-cert.pem" >/dev/null 2>&1 \
    || die "openssl could not make a certificate"

# ------------------------------------------------------------------ processes
RECV_PID="" SEND_PID="" PF_CONF="" DOVE_BASE=""

valvd_common_args() {  # the ports a valvd in this benchmark does not use, off
    local a=(--imaps-port 0 --pop3-port 0 --pop3s-port 0)
    valvd_has submissions-port && a+=(--submissions-port 0)
    valvd_has dns-resolver && a+=(--dns-resolver "$DNS_ADDR")
    echo "${a[@]}"
}

stop_sender() {
    if [ -n "$SEND_PID" ]; then bench_kill "$SEND_PID"; wait "$SEND_PID" 2>/dev/null || true; SEND_PID=""; fi
    if [ -n "$PF_CONF" ]; then
        postfix -c "$PF_CONF" stop >/dev/null 2>&1
        for _ in $(seq 1 100); do postfix -c "$PF_CONF" status >/dev/null 2>&1 || break; sleep 0.1; done
        postfix -c "$PF_CONF" abort >/dev/null 2>&1
        PF_CONF=""
    fi
    if [ -n "$DOVE_BASE" ] && [ -s "$DOVE_BASE/master.pid" ]; then
        bench_kill "$(cat "$DOVE_BASE/master.pid")"
    fi
    DOVE_BASE=""
}
stop_receiver() {
    if [ -n "$RECV_PID" ]; then bench_kill "$RECV_PID"; wait "$RECV_PID" 2>/dev/null || true; RECV_PID=""; fi
}
stop_all() {
    stop_sender
    stop_receiver
    if [ -n "$DNS_PID" ]; then bench_kill "$DNS_PID"; wait "$DNS_PID" 2>/dev/null || true; DNS_PID=""; fi
}

# ----------------------------------------------------------------- receivers
# Both listen on 127.0.0.3:25 (the MX's address and the SMTP port).
# valvd B's limit of connections per client address is raised from 20: Postfix
# opens up to 20 at once to one destination (default_destination_concurrency_limit),
# every sender here connects from 127.0.0.3 (the source address the kernel
# picks for it), and so do the IMAP sessions that count the mail.  At 20, a
# 421 makes Postfix defer messages for minutes.
RECV_PER_IP=100
RECV_IMAP=""
start_receiver_valvd() {  # DIR: fresh valvd B for sink.test, users u1..uN
    local d=$1 i
    mkdir -p "$d"
    "$VALVCTL" --datadir "$d/data" init --no-demo >"$d/valvctl.log" 2>&1 || { cat "$d/valvctl.log" >&2; die "valvctl init (B) failed"; }
    "$VALVCTL" --datadir "$d/data" domain add sink.test >>"$d/valvctl.log" 2>&1 || die "valvctl domain add (B) failed"
    for i in $(seq 1 "$USERS"); do
        "$VALVCTL" --datadir "$d/data" user add "u$i@sink.test" --password "$PASSWORD" \
            >>"$d/valvctl.log" 2>&1 || { cat "$d/valvctl.log" >&2; die "valvctl user add (B) failed"; }
    done
    local extra=()
    valvd_has submission-port && extra+=(--submission-port 0)
    # shellcheck disable=SC2046  # word splitting intended
    "$VALVD" --datadir "$d/data" --listen-address "$RECV_ADDR" --hostname mx.sink.test \
        --smtp-port 25 --imap-port 0 $(valvd_common_args) "${extra[@]}" \
        --max-connections-per-ip "$RECV_PER_IP" \
        --ready-file "$d/ready.json" >>"$d/valvd.log" 2>&1 &
    RECV_PID=$!
    wait_for 30 "valvd B ready file" ready_has "$d/ready.json" imap
    RECV_IMAP=$(ready_port "$d/ready.json" imap)
    wait_for 10 "valvd B SMTP banner" banner_ok "$RECV_ADDR" 25
}

start_receiver_sink() {  # DIR: smtp-sink, counting messages (-c) into DIR/sink.out
    local d=$1
    mkdir -p "$d"
    smtp-sink -4 -c -u nobody -h mx.sink.test "$RECV_ADDR:25" 256 >"$d/sink.out" 2>"$d/sink.err" &
    RECV_PID=$!
    wait_for 10 "smtp-sink banner" banner_ok "$RECV_ADDR" 25
}

# ------------------------------------------------------------------ senders
SEND_PORT=""
start_sender_valv() {  # DIR REMOTE-CONCURRENCY(empty = default)
    local d=$1 rc=$2
    mkdir -p "$d"
    "$VALVCTL" --datadir "$d/data" init --no-demo >"$d/valvctl.log" 2>&1 || { cat "$d/valvctl.log" >&2; die "valvctl init (A) failed"; }
    "$VALVCTL" --datadir "$d/data" domain add a.test >>"$d/valvctl.log" 2>&1 || die "valvctl domain add (A) failed"
    "$VALVCTL" --datadir "$d/data" user add "$SENDER" --password "$PASSWORD" \
        >>"$d/valvctl.log" 2>&1 || { cat "$d/valvctl.log" >&2; die "valvctl user add (A) failed"; }
    local extra=()
    valvd_has remote-smtp-port && extra+=(--remote-smtp-port 25)
    # the per-user limit on recipients per hour (default 1000) would refuse a
    # run's later messages; Postfix has no such limit by default
    valvd_has user-send-rate && extra+=(--user-send-rate 0)
    [ -n "$rc" ] && extra+=(--remote-concurrency "$rc")
    # shellcheck disable=SC2046  # word splitting intended
    "$VALVD" --datadir "$d/data" --listen-address "$SEND_ADDR" --hostname mail.a.test \
        --submission-port 0 --smtp-port 0 --imap-port 0 $(valvd_common_args) "${extra[@]}" \
        --ready-file "$d/ready.json" >>"$d/valvd.log" 2>&1 &
    SEND_PID=$!
    wait_for 30 "valvd A ready file" ready_has "$d/ready.json" submission
    SEND_PORT=$(ready_port "$d/ready.json" submission)
    wait_for 10 "valvd A submission banner" banner_ok "$SEND_ADDR" "$SEND_PORT"
}

# Postfix: a private instance (postfix -c DIR) with its own durable queue,
# main.cf at Postfix's defaults apart from paths, names, TLS files and SASL;
# master.cf is Debian's with chroot off (the queue lives under DIR), no port
# 25 listener, and a submission listener on 127.0.0.2 (STARTTLS required,
# AUTH through Dovecot's auth service, relaying only for authenticated
# clients).  Outbound: default_transport smtp, MX lookups through the
# system resolver (= dnsmasq here), opportunistic TLS, default concurrency.
start_sender_postfix() {  # DIR
    local d=$1
    mkdir -p "$d/postfix-etc" "$d/postfix-queue" "$d/postfix-data" "$d/dovecot-run" "$d/dovecot-state"
    chmod 755 "$d" "$d/dovecot-run"
    chown postfix "$d/postfix-data"
    SEND_PORT=$(free_port)

    # Dovecot as the SASL server only (static passdb: any user, $PASSWORD)
    DOVE_BASE=$d/dovecot-run
    dovecot_conf_common "$d" dovecot-run dovecot-state "dovecot-relay-bench" none > "$d/dovecot.conf"
    cat >> "$d/dovecot.conf" <<EOF
auth_mechanisms = plain
service auth {
  unix_listener auth-postfix {
    mode = 0666
  }
}
EOF
    dovecot_start "$d"
    wait_for 30 "dovecot auth socket" test -S "$d/dovecot-run/auth-postfix"

    PF_CONF=$d/postfix-etc
    cat > "$PF_CONF/main.cf" <<EOF
# generated by tests/bench/submission_relay.sh
compatibility_level = 3.6
queue_directory = $d/postfix-queue
data_directory = $d/postfix-data
maillog_file = $d/postfix.log
syslog_name = postfix-relay-bench
myhostname = mail.a.test
mydomain = a.test
myorigin = \$mydomain
mydestination =
inet_interfaces = $SEND_ADDR
inet_protocols = ipv4
mynetworks = $SEND_ADDR/32
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtpd_tls_cert_file = $WORK/postfix-cert.pem
smtpd_tls_key_file = $WORK/postfix-key.pem
smtp_tls_security_level = may
smtp_tls_loglevel = 1
smtpd_sasl_type = dovecot
smtpd_sasl_path = $d/dovecot-run/auth-postfix
EOF
    awk -v addr="$SEND_ADDR" -v port="$SEND_PORT" '
        /^[#[:space:]]/ || NF < 8 { print; next }
        $1 == "smtp" && $2 == "inet" { print "#" $0; next }
        { $5 = "n"; print }
        END {
            print addr ":" port " inet n - n - - smtpd"
            print "  -o syslog_name=postfix-relay-bench/submission"
            print "  -o smtpd_tls_security_level=encrypt"
            print "  -o smtpd_sasl_auth_enable=yes"
            print "  -o smtpd_tls_auth_only=yes"
            print "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject"
            print "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
            print "  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject"
        }
    ' /etc/postfix/master.cf > "$PF_CONF/master.cf"
    postfix -c "$PF_CONF" check >"$d/postfix.start.log" 2>&1 || { cat "$d/postfix.start.log" >&2; die "postfix check failed"; }
    postfix -c "$PF_CONF" start >>"$d/postfix.start.log" 2>&1 || { cat "$d/postfix.start.log" >&2; die "postfix failed to start"; }
    wait_for 30 "postfix submission" banner_ok "$SEND_ADDR" "$SEND_PORT"
}

# --------------------------------------------------------------------- runs
# CPU seconds (user + system) used so far by PID and every process below it,
# including children that have already exited and been waited for (Postfix's
# master reaps its smtpd/cleanup/smtp processes: their time is in its cutime).
tree_cpu() {  # tree_cpu PID...
    $PY - "$@" <<'EOF'
import os, sys
tick = os.sysconf("SC_CLK_TCK")
procs = {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        procs[int(p)] = (int(f[1]), sum(int(x) for x in f[11:15]))  # ppid; utime stime cutime cstime
todo, total = [int(p) for p in sys.argv[1:]], 0
while todo:
    pid = todo.pop()
    if pid in procs:
        total += procs[pid][1]
        todo += [c for c, (pp, _) in procs.items() if pp == pid]
print(f"{total / tick:.2f}")
EOF
}
sender_pids() {  # valvd A, or Postfix's master and Dovecot's (the SASL service)
    if [ -n "$PF_CONF" ]; then
        tr -d ' ' < "$(dirname "$PF_CONF")/postfix-queue/pid/master.pid"
        cat "$DOVE_BASE/master.pid"
    else
        echo "$SEND_PID"
    fi
}

one_run() {  # one_run RUN RECEIVER SYSTEM
    local run=$1 recv=$2 sys=$3
    local d=$WORK/$recv-$sys-$run out=$WORK/results/$recv/$sys-$run.json
    mkdir -p "$d" "$WORK/results/$recv"
    local count=()
    case $recv in
        valvd) start_receiver_valvd "$d/receiver"
               count=(--poll-imap "$RECV_IMAP" --count-host "$RECV_ADDR" --password "$PASSWORD" --poll-interval 0.05) ;;
        smtp-sink) start_receiver_sink "$d/receiver"
               count=(--count-sink "$d/receiver/sink.out" --poll-interval 0.02) ;;
    esac
    case $sys in
        valv) start_sender_valv "$d/sender" "" ;;
        valv-rc*) start_sender_valv "$d/sender" "${sys#valv-rc}" ;;
        postfix) start_sender_postfix "$d/sender" ;;
    esac
    local rc=0 s0 r0
    local spids
    mapfile -t spids < <(sender_pids)
    s0=$(tree_cpu "${spids[@]}") r0=$(tree_cpu "$RECV_PID")
    bench_load "$PY" "$HERE/smtpload.py" --host "$SEND_ADDR" --port "$SEND_PORT" \
        --starttls --auth-user "$SENDER" --auth-password "$PASSWORD" --sender "$SENDER" \
        --concurrency "$CONCURRENCY" --messages "$MESSAGES" --size "$SIZE" \
        --rcpt "$RCPTS" --label "$sys" --json "$out" --e2e-timeout "$E2E_TIMEOUT" "${count[@]}" || rc=$?
    # the sender's and the receiver's CPU time over the run (the load generator's is in the JSON)
    echo "$(tree_cpu "${spids[@]}") $s0 $(tree_cpu "$RECV_PID") $r0" |
        awk '{ printf "{\"sender_cpu_s\": %.2f, \"receiver_cpu_s\": %.2f}\n", $1 - $2, $3 - $4 }' > "${out%.json}.cpu"
    if [[ $sys == valv* ]]; then
        "$VALVCTL" --datadir "$d/sender/data" queue list --json > "$d/sender/queue-after.json" 2>&1 || true
        local left
        left=$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$d/sender/queue-after.json" 2>/dev/null || echo "?")
        [ "$left" = 0 ] || log "  valvd A: $left message(s) still in its queue after the run (valvctl queue list)"
    fi
    if [ "$sys" = postfix ]; then
        log "  postfix: $(grep -c 'TLS connection established to' "$d/sender/postfix.log" || true) outbound TLS connections, $(grep -c 'status=deferred' "$d/sender/postfix.log" || true) deferrals"
    fi
    stop_sender
    stop_receiver
    [ -s "$out" ] || { tail -n 20 "$d"/sender/*.log "$d"/receiver/*.log >&2 || true; die "$sys -> $recv run $run produced no result"; }
    if [ "$rc" != 0 ]; then tail -n 20 "$d"/sender/*.log "$d"/receiver/*.log >&2 || true; fi
    return "$rc"
}

print_run() {
    $PY -c 'import json,sys; r=json.load(open(sys.argv[1])); f=lambda k: "%.1f" % r[k] if r.get(k) else "-"; print("  accepted %d/%d  submit %s msg/s  p50 %.2f ms  p99 %.2f ms  e2e %s msg/s (%s s)  stored %s  client cpu %.2f s%s" % (r["accepted"], r["messages"], f("accept_rate"), r.get("p50_ms",0), r.get("p99_ms",0), f("e2e_rate"), "%.2f" % r["e2e_elapsed_s"] if r.get("e2e_elapsed_s") else "-", r.get("stored","-"), r["client_cpu_s"], "" if r["ok"] else "  FAILED: %s" % r["error_samples"][:1]))' "$1"
}

log "work dir $WORK; senders $SYSTEMS; receivers $RECEIVERS; $RUNS run(s) of $MESSAGES x $SIZE B, $CONCURRENCY clients, $USERS recipients"
failed=0
IFS=, read -r -a systems <<< "$SYSTEMS"
IFS=, read -r -a receivers <<< "$RECEIVERS"
for run in $(seq 1 "$RUNS"); do
    for recv in "${receivers[@]}"; do
        for sys in "${systems[@]}"; do
            log "run $run/$RUNS: $sys -> $recv"
            one_run "$run" "$recv" "$sys" || failed=1
            print_run "$WORK/results/$recv/$sys-$run.json" >&2
        done
    done
done

POSTFIX_VERSION=$(postconf -d -h mail_version 2>/dev/null || echo "?")
VALV_VERSION=$("$VALVD" --version 2>/dev/null || echo "valvd ?")
BENCH_MACHINE=$(bench_machine)
export POSTFIX_VERSION VALV_VERSION BENCH_MACHINE VALVD
$PY - "$WORK/results" <<'EOF'
import glob, json, os, re, statistics, sys

root = sys.argv[1]
env = os.environ

def med(rs, key):
    vals = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(vals) if vals else None

def name(sys_):
    if sys_ == "valv":
        return "valvd"
    m = re.fullmatch(r"valv-rc(\d+)", sys_)
    return f"valvd rc={m.group(1)}" if m else "postfix"

print()
print(f"machine: {env['BENCH_MACHINE']}; postfix {env['POSTFIX_VERSION']}; {env['VALV_VERSION']} ({env['VALVD']})")
print(f"load: {env['MESSAGES']} msgs x {env['SIZE']} B, {env['CONCURRENCY']} submission clients "
      f"(STARTTLS + AUTH PLAIN), {env['USERS']} recipients @sink.test; median of {env['RUNS']} run(s)")
receivers = {"valvd": "receiver: valvd B on 127.0.0.3:25 (stores every message)",
             "smtp-sink": "receiver: postfix smtp-sink on 127.0.0.3:25 (no storage, no TLS)"}
order = [s for s in env["SYSTEMS"].split(",")]
for recv in env["RECEIVERS"].split(","):
    res = {}
    for f in sorted(glob.glob(os.path.join(root, recv, "*.json"))):
        r = json.load(open(f))
        if os.path.exists(f[:-5] + ".cpu") and r["accepted"]:
            cpu = json.load(open(f[:-5] + ".cpu"))
            r["send_cpu_ms"] = cpu["sender_cpu_s"] * 1000 / r["accepted"]
            r["recv_cpu_ms"] = cpu["receiver_cpu_s"] * 1000 / r["accepted"]
        res.setdefault(r["label"], []).append(r)
    if not res:
        continue
    print()
    print(receivers[recv])
    hdr = (f"{'sender':<24} {'submit msg/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'e2e msg/s':>10} "
           f"{'e2e s':>7} {'send cpu':>9} {'recv cpu':>9} {'refused':>7} {'runs ok':>7}")
    print(hdr)
    print("-" * len(hdr))
    row = {}
    for label in order:
        rs = res.get(label)
        if not rs:
            continue
        m = {k: med(rs, k) for k in ("accept_rate", "p50_ms", "p99_ms", "e2e_rate", "e2e_elapsed_s",
                                     "send_cpu_ms", "recv_cpu_ms", "errors")}
        row[label] = m
        f = lambda v, p=1: "-" if v is None else f"{v:.{p}f}"
        print(f"{name(label):<24} {f(m['accept_rate']):>12} {f(m['p50_ms'], 2):>8} {f(m['p99_ms'], 2):>8} "
              f"{f(m['e2e_rate']):>10} {f(m['e2e_elapsed_s'], 2):>7} {f(m['send_cpu_ms'], 2):>9} "
              f"{f(m['recv_cpu_ms'], 2):>9} {f(m['errors'], 0):>7} "
              f"{sum(r['ok'] for r in rs):>3}/{len(rs):<3}")
    p = row.get("postfix")
    ratio = lambda a, b: "-" if not a or not b else f"{a / b:.2f}x"
    for label in order:
        if label == "postfix" or label not in row or not p:
            continue
        v = row[label]
        print(f"{'ratio ' + name(label) + '/postfix':<24} {ratio(v['accept_rate'], p['accept_rate']):>12} {ratio(v['p50_ms'], p['p50_ms']):>8} "
              f"{ratio(v['p99_ms'], p['p99_ms']):>8} {ratio(v['e2e_rate'], p['e2e_rate']):>10} {'':>7} "
              f"{ratio(v['send_cpu_ms'], p['send_cpu_ms']):>9} {ratio(v['recv_cpu_ms'], p['recv_cpu_ms']):>9}")
print()
print("submit msg/s: messages answered 250 / (last 250-after-DATA - start); p50/p99: MAIL sent .. 250")
print("after DATA. e2e: until the receiver holds every accepted message (valvd B: IMAP STATUS polled")
print("every 50 ms, then recounted over fresh logins, which must match exactly; smtp-sink: its message")
print("counter, polled every 20 ms). The clock starts once every client has done EHLO, STARTTLS and AUTH.")
print("send cpu / recv cpu: CPU ms (user+sys) per message of the sending server (valvd A; Postfix's")
print("master, its children and the Dovecot auth service) and of the receiver, over the load.")
print("Ratios are valvd / postfix: above 1 is Valv faster for rates, below 1 for latencies.")
EOF
exit $failed
