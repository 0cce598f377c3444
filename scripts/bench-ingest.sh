#!/bin/bash
# One large dispatch into a relay that runs as its own process, measured
# from outside through /proc/PID: what the relay read and wrote, its peak
# resident memory, and the time until its durable answer next to `cp` +
# `sync` of the same file.
#
#   scripts/bench-ingest.sh [--mb N] [--dir DIR] [--keep]
#
# Builds nothing: it runs target/release/congvan (or $CONGVAN), so build
# first with `cargo build --release -p congvan`. It copies the demo PKI,
# starts `congvan relay run` on 127.0.0.1:17640, composes, signs and seals a
# dispatch with an attachment of N MB of random bytes (1024 by default),
# resets the relay's peak-RSS counter (/proc/PID/clear_refs), sends the
# dispatch with `congvan send`, and reads the relay's /proc/PID/io and
# VmHWM again. `cp` + `sync` of the same .cvd into the relay's data folder
# is timed after the relay has stopped. Everything goes into DIR (a fresh
# folder under /tmp by default), removed at the end unless --keep.
set -euo pipefail

mb=1024
dir=""
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --mb) mb="$2"; shift 2 ;;
        --dir) dir="$2"; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "bench-ingest: unknown argument $1; see --help" >&2; exit 2 ;;
    esac
done

repo="$(cd "$(dirname "$0")/.." && pwd)"
congvan="${CONGVAN:-$repo/target/release/congvan}"
if [ ! -x "$congvan" ]; then
    echo "bench-ingest: $congvan not found; run: cargo build --release -p congvan" >&2
    exit 2
fi
if [ -z "$dir" ]; then dir="$(mktemp -d /tmp/congvan-bench-ingest.XXXXXX)"; fi
mkdir -p "$dir"
relay_pid=""
cleanup() {
    if [ -n "$relay_pid" ] && kill -0 "$relay_pid" 2> /dev/null; then kill "$relay_pid"; fi
    if [ "$keep" = 0 ]; then rm -rf "$dir"; else echo "bench-ingest: kept $dir"; fi
}
trap cleanup EXIT

io_field() { awk -v k="$2:" '$1 == k { print $2 }' "$1"; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

cp -r "$repo/certs" "$dir/pki"
chmod -R go-rwx "$dir/pki"
"$congvan" pki crl --issuer "$dir/pki/ca-h99" --out "$dir/ca.crl.pem" > /dev/null
"$congvan" relay init --org H99.01 --listen 127.0.0.1:17640 --tls "$dir/pki/H99.01/relay" \
    --trust "$dir/pki/root/cert.pem" --crl "$dir/ca.crl.pem" \
    --registry "$dir/pki/registry.toml" --data "$dir/relay" > /dev/null

export CONGVAN_REGISTRY="$dir/pki/registry.toml"
echo "bench-ingest: composing a dispatch with $mb MB of random bytes (not timed)…"
echo "Tệp đính kèm lớn." > "$dir/body.txt"
head -c "$((mb * 1000000))" /dev/urandom > "$dir/du-lieu.bin"
"$congvan" dispatch new --from H99.01 --to H99.01.01 --type "Công văn" \
    --number "1/CV-UBND" --subject "Dữ liệu đính kèm" --body "$dir/body.txt" --attach "$dir/du-lieu.bin" \
    --signer-cert "$dir/pki/H99.01/official/cert.pem" --signer-prefix TM --signer-authority "ỦY BAN NHÂN DÂN" \
    --out "$dir/big.cvd" > /dev/null
"$congvan" dispatch sign "$dir/big.cvd" --role signer \
    --key "$dir/pki/H99.01/official/key.pem" --cert "$dir/pki/H99.01/official/cert.pem" > /dev/null
"$congvan" dispatch sign "$dir/big.cvd" --role seal \
    --key "$dir/pki/H99.01/office/key.pem" --cert "$dir/pki/H99.01/office/cert.pem" > /dev/null
rm "$dir/du-lieu.bin"
size=$(stat -c %s "$dir/big.cvd")

"$congvan" relay run --config "$dir/relay/relay.toml" 2> "$dir/relay.log" &
relay_pid=$!
for _ in $(seq 1 50); do
    if grep -q "relay started" "$dir/relay.log" 2> /dev/null; then break; fi
    sleep 0.1
done
if ! kill -0 "$relay_pid" 2> /dev/null; then
    echo "bench-ingest: the relay did not start:" >&2
    cat "$dir/relay.log" >&2
    exit 1
fi
sync
idle_rss=$(status_kb "$relay_pid" VmRSS)
echo 5 > "/proc/$relay_pid/clear_refs"
cp "/proc/$relay_pid/io" "$dir/io.before"
start=$(date +%s.%N)
"$congvan" send "$dir/big.cvd" --relay https://127.0.0.1:17640 --identity "$dir/pki/H99.01/office" \
    --trust "$dir/pki/root/cert.pem" --crl "$dir/ca.crl.pem" > /dev/null
end=$(date +%s.%N)
cp "/proc/$relay_pid/io" "$dir/io.after"
peak_rss=$(status_kb "$relay_pid" VmHWM)
kill "$relay_pid"
wait "$relay_pid" || true   # it exits on SIGTERM; its status is not this benchmark's
relay_pid_was=$relay_pid; relay_pid=""

sync
cp_start=$(date +%s.%N)
cp "$dir/big.cvd" "$dir/relay/cp-copy.cvd"
sync
cp_end=$(date +%s.%N)
rm "$dir/relay/cp-copy.cvd"

delta() { echo $(( $(io_field "$dir/io.after" "$1") - $(io_field "$dir/io.before" "$1") )); }
per_byte() { awk -v v="$1" -v s="$size" 'BEGIN { printf "%.2fx", v / s }'; }
ingest=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
cp_sync=$(awk -v a="$cp_start" -v b="$cp_end" 'BEGIN { printf "%.2f", b - a }')
ratio=$(awk -v a="$ingest" -v b="$cp_sync" 'BEGIN { printf "%.2f", a / b }')
echo "bench-ingest: the relay process (pid $relay_pid_was), one dispatch of $size bytes:"
echo "  upload until the durable answer: $ingest s; cp + sync of the same file: $cp_sync s; ratio ${ratio}x"
echo "  rchar $(per_byte "$(delta rchar)") (socket and file reads), read_bytes $(per_byte "$(delta read_bytes)") (from storage)"
echo "  wchar $(per_byte "$(delta wchar)"), write_bytes $(per_byte "$(delta write_bytes)") (to storage)"
echo "  RSS idle $((idle_rss / 1024)) MB, peak during the upload $((peak_rss / 1024)) MB"
