#!/usr/bin/env bash
# Three relays as three processes on 127.0.0.1: province H99, district H99.01
# and commune H99.01.01, using the committed demo PKI in certs/. A báo cáo
# goes from the commune up two hops to the province, which fetches it,
# verifies it and acknowledges it (status 03); the commune then shows the
# dispatch's timeline. The relays are stopped when the script exits.
#
#   examples/three-level/run.sh            # run dir ./three-level-run
#   RUN_DIR=/tmp/x PORT_BASE=18443 examples/three-level/run.sh
#   CONGVAN=/path/to/congvan examples/three-level/run.sh   # skip the build
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_DIR="${RUN_DIR:-$PWD/three-level-run}"
PORT_BASE="${PORT_BASE:-17443}"
P_PORT=$PORT_BASE            # province
D_PORT=$((PORT_BASE + 1))    # district
C_PORT=$((PORT_BASE + 2))    # commune
CERTS="$ROOT/certs"
TRUST="$CERTS/root/cert.pem"
REGISTRY="$CERTS/registry.toml"

if [[ -t 1 ]]; then
    step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    step() { printf '\n== %s\n' "$*"; }
fi

# --- the binary ------------------------------------------------------------
if [[ -z "${CONGVAN:-}" ]]; then
    step "Building the release binary (cargo build --release -p congvan)"
    (cd "$ROOT" && cargo build --release --quiet -p congvan --bin congvan)
    CONGVAN="$ROOT/target/release/congvan"
fi
cv() { "$CONGVAN" "$@"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in $P_PORT $D_PORT $C_PORT; do
    if port_open "$port"; then
        echo "port $port on 127.0.0.1 is in use; set PORT_BASE to another base (3 ports)" >&2
        exit 2
    fi
done

# --- configuration -----------------------------------------------------------
if [[ -d "$RUN_DIR" && -n "$(ls -A "$RUN_DIR")" && ! -f "$RUN_DIR/province/relay.toml" ]]; then
    echo "$RUN_DIR is not empty and not an earlier run of this script; set RUN_DIR" >&2
    exit 2
fi
rm -rf "$RUN_DIR"   # an earlier run: start afresh
mkdir -p "$RUN_DIR"
step "Writing three relay configurations in $RUN_DIR"
# Province: pushes down to the district at its URL.
cv relay init --org H99 --listen "127.0.0.1:$P_PORT" --tls "$CERTS/H99/relay" \
    --trust "$TRUST" --registry "$REGISTRY" \
    --child "relay-h99-01=https://127.0.0.1:$D_PORT" \
    --data "$RUN_DIR/province"
# District: pushes up to the province and down to the commune.
cv relay init --org H99.01 --listen "127.0.0.1:$D_PORT" --tls "$CERTS/H99.01/relay" \
    --trust "$TRUST" --registry "$REGISTRY" \
    --parent "https://127.0.0.1:$P_PORT" \
    --child "relay-h99-01-01=https://127.0.0.1:$C_PORT" \
    --data "$RUN_DIR/district"
# Commune: pushes up to the district.
cv relay init --org H99.01.01 --listen "127.0.0.1:$C_PORT" --tls "$CERTS/H99.01.01/relay" \
    --trust "$TRUST" --registry "$REGISTRY" \
    --parent "https://127.0.0.1:$D_PORT" \
    --data "$RUN_DIR/commune"

# --- start the relays ----------------------------------------------------------
PIDS=()
stop_relays() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if ((${#PIDS[@]})); then
        echo
        echo "relays stopped; logs and data are in $RUN_DIR"
    fi
}
trap stop_relays EXIT
trap 'exit 130' INT TERM

step "Starting the relays (logs in $RUN_DIR/*.log)"
for level in province district commune; do
    # The binary itself, not the `cv` function: $! must be the relay's pid.
    "$CONGVAN" relay run --config "$RUN_DIR/$level/relay.toml" >"$RUN_DIR/$level.log" 2>&1 &
    PIDS+=($!)
    echo "  $level relay: pid $!"
done
# Ready when each has logged "relay started" (a bare TCP probe would only
# add "TLS handshake refused" lines to the logs).
for level in province district commune; do
    for _ in $(seq 100); do
        grep -q "relay started" "$RUN_DIR/$level.log" && break
        sleep 0.1
    done
    grep -q "relay started" "$RUN_DIR/$level.log" || {
        echo "the $level relay did not start; see $RUN_DIR/$level.log" >&2
        exit 1
    }
done
echo "  listening on https://127.0.0.1:$P_PORT (H99), :$D_PORT (H99.01), :$C_PORT (H99.01.01)"

# --- the commune composes, signs and sends ---------------------------------------
step "The commune composes a báo cáo to the province, signs it (Chủ tịch) and seals it (office)"
CVD="$RUN_DIR/21-BC-UBND.cvd"
cat >"$RUN_DIR/body.txt" <<'EOF'
Ủy ban nhân dân xã Cẩm Thạch báo cáo nhanh tình hình thiệt hại do bão số 5 trên địa bàn xã:
nhà ở bị tốc mái 12 căn; diện tích lúa bị ngập 35 ha; không có thiệt hại về người.
EOF
cv dispatch new --from H99.01.01 --to H99 --type "Báo cáo" --number "21/BC-UBND" \
    --subject "Báo cáo nhanh tình hình thiệt hại do bão số 5" --urgency khan \
    --body "$RUN_DIR/body.txt" --registry "$REGISTRY" \
    --signer-cert "$CERTS/H99.01.01/official/cert.pem" --signer-prefix TM \
    --signer-authority "ỦY BAN NHÂN DÂN" --out "$CVD"
cv dispatch sign "$CVD" --key "$CERTS/H99.01.01/official/key.pem" \
    --cert "$CERTS/H99.01.01/official/cert.pem" --chain "$CERTS/H99.01.01/official/chain.pem" \
    --role signer
cv dispatch sign "$CVD" --key "$CERTS/H99.01.01/office/key.pem" \
    --cert "$CERTS/H99.01.01/office/cert.pem" --chain "$CERTS/H99.01.01/office/chain.pem" \
    --role seal
SHOW="$(cv dispatch show "$CVD" --json)"
ID="$(sed -n 's/^  "id": "\(.*\)",$/\1/p' <<<"$SHOW")"
[[ -n "$ID" ]] || { echo "could not read the dispatch id" >&2; exit 1; }

step "congvan send (to the commune relay)"
cv send "$CVD" --relay "https://127.0.0.1:$C_PORT" \
    --identity "$CERTS/H99.01.01/office" --trust "$TRUST"

# --- the province receives ----------------------------------------------------------
P_AS_PROVINCE=(--relay "https://127.0.0.1:$P_PORT" --identity "$CERTS/H99/office" --trust "$TRUST")
step "Waiting for it in the province's inbox (two hops up)"
started=$(date +%s%N)
# (Output is captured, not piped into `grep -q`: with pipefail, grep closing
# the pipe early would fail the pipeline.)
in_inbox() { [[ "$(cv inbox "${P_AS_PROVINCE[@]}" --json)" == *"\"$ID\""* ]]; }
for _ in $(seq 300); do
    in_inbox && break
    sleep 0.1
done
in_inbox || {
    echo "the dispatch did not reach the province within 30 s; see $RUN_DIR/*.log" >&2
    exit 1
}
echo "  arrived after about $((($(date +%s%N) - started) / 1000000)) ms of polling"

step "congvan inbox (province H99)"
cv inbox "${P_AS_PROVINCE[@]}"

step "congvan fetch (verifies what it downloads)"
cv fetch "$ID" "${P_AS_PROVINCE[@]}" --out "$RUN_DIR/received.cvd"

step "congvan ack --status 03 (accepted/registered)"
cv ack "$ID" --status 03 --note "Đã vào sổ văn bản đến" "${P_AS_PROVINCE[@]}"

# --- the commune's view -------------------------------------------------------------
C_AS_COMMUNE=(--relay "https://127.0.0.1:$C_PORT" --identity "$CERTS/H99.01.01/office" --trust "$TRUST")
step "Waiting for the status to travel back down to the commune"
status_back() { [[ "$(cv track "$ID" "${C_AS_COMMUNE[@]}" --json)" == *'"code": "03"'* ]]; }
for _ in $(seq 300); do
    status_back && break
    sleep 0.1
done

step "congvan track (commune H99.01.01, the sender)"
cv track "$ID" "${C_AS_COMMUNE[@]}"
status_back || {
    echo "status 03 did not reach the commune within 30 s; see $RUN_DIR/*.log" >&2
    exit 1
}
