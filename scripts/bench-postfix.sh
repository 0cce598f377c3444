#!/bin/bash
# Postfix accept+relay on this machine, the yardstick for a relay's
# throughput: smtp-source -> Postfix (loopback only) -> smtp-sink.
#
#   scripts/bench-postfix.sh [--messages N] [--sessions S] [--size BYTES]
#
# Installs Postfix 3.x from the distribution when it is missing, writes a
# loopback-only /etc/postfix/main.cf marked as this script's own (an
# existing main.cf it did not write is left alone and the script stops),
# starts Postfix and smtp-sink, sends N messages of BYTES bytes over S
# parallel kept-alive sessions (smtp-source -d), and waits until Postfix's
# queue is empty: every message accepted, queued durably and relayed to
# the sink. Postfix is stopped again at the end.
#
# The last line is what examples/relay_load reads:
#   postfix: N messages, S sessions, BYTES bytes: accepted in A s (X /s), accepted and relayed in R s (Y /s)
set -euo pipefail

messages=4000
sessions=20
size=10240
while [ $# -gt 0 ]; do
    case "$1" in
        --messages) messages="$2"; shift 2 ;;
        --sessions) sessions="$2"; shift 2 ;;
        --size) size="$2"; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "bench-postfix: unknown argument $1; see --help" >&2; exit 2 ;;
    esac
done

SMTPD_PORT=10025
SINK_PORT=10026
MARK="# written by congvan scripts/bench-postfix.sh: loopback only, for benchmarks"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

if ! command -v /usr/sbin/smtp-source > /dev/null || ! command -v /usr/sbin/postfix > /dev/null; then
    echo "bench-postfix: installing postfix (no mail configuration; this script writes its own)"
    echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix > /dev/null
fi

if [ -f /etc/postfix/main.cf ] && ! head -1 /etc/postfix/main.cf | grep -qF "$MARK"; then
    echo "bench-postfix: /etc/postfix/main.cf exists and was not written by this script;" \
         "refusing to change a real mail configuration" >&2
    exit 2
fi
$SUDO tee /etc/postfix/main.cf > /dev/null <<EOF
$MARK
compatibility_level = 3.6
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = bench.congvan.invalid
mydestination =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$SINK_PORT
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_destination_concurrency_limit = $sessions
default_destination_concurrency_limit = $sessions
smtp_dns_support_level = disabled
maillog_file = /var/log/postfix-bench.log
EOF
# smtpd on a port of its own, outside a chroot; port 25 unused.
$SUDO postconf -M "$SMTPD_PORT/inet=$SMTPD_PORT inet n - n - - smtpd"
$SUDO postconf -MX smtp/inet 2> /dev/null || true
$SUDO postconf -M "postlog/unix-dgram=postlog unix-dgram n - n - 1 postlogd"

queue_files() {
    $SUDO find /var/spool/postfix/incoming /var/spool/postfix/active \
        /var/spool/postfix/deferred /var/spool/postfix/maildrop -type f 2> /dev/null | wc -l
}

cleanup() {
    $SUDO postfix stop > /dev/null 2>&1 || true
    if [ -n "${sink_pid:-}" ]; then kill "$sink_pid" 2> /dev/null || true; fi
}
trap cleanup EXIT

$SUDO postfix stop > /dev/null 2>&1 || true
$SUDO postfix check
$SUDO postsuper -d ALL > /dev/null 2>&1 || true
/usr/sbin/smtp-sink -u nobody "127.0.0.1:$SINK_PORT" 256 &
sink_pid=$!
$SUDO postfix start > /dev/null
for _ in $(seq 1 50); do
    if (exec 3<> "/dev/tcp/127.0.0.1/$SMTPD_PORT") 2> /dev/null; then break; fi
    sleep 0.1
done

start=$(date +%s.%N)
/usr/sbin/smtp-source -d -s "$sessions" -l "$size" -m "$messages" \
    -f bench@congvan.invalid -t sink@congvan.invalid "127.0.0.1:$SMTPD_PORT"
accepted=$(date +%s.%N)
deadline=$((SECONDS + 300))
while [ "$(queue_files)" != 0 ]; do
    if [ "$SECONDS" -gt "$deadline" ]; then
        echo "bench-postfix: the queue did not empty within 300 s ($(queue_files) left)" >&2
        exit 1
    fi
    sleep 0.01
done
relayed=$(date +%s.%N)
sent=$($SUDO grep -c "status=sent" /var/log/postfix-bench.log || true)
$SUDO truncate -s 0 /var/log/postfix-bench.log
if [ "$sent" -lt "$messages" ]; then
    echo "bench-postfix: only $sent of $messages messages were relayed to the sink" >&2
    exit 1
fi
awk -v n="$messages" -v s="$sessions" -v b="$size" -v t0="$start" -v t1="$accepted" -v t2="$relayed" 'BEGIN {
    printf "postfix: %d messages, %d sessions, %d bytes: accepted in %.2f s (%.0f /s), accepted and relayed in %.2f s (%.0f /s)\n",
        n, s, b, t1 - t0, n / (t1 - t0), t2 - t0, n / (t2 - t0)
}'
