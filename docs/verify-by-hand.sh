#!/usr/bin/env bash
# Verifies the signatures of a congvan dispatch (.cvd) by hand, with openssl
# for every cryptographic step and python3 only to read the ZIP and the JSON.
# This is the procedure of docs/FORMAT.md, "Checking a signature by hand".
#
#   docs/verify-by-hand.sh FILE.cvd [ROOT.pem]
#
# For each signature it prints a line naming it, then openssl's
# "Verified OK" when the JWS signature over the manifest verifies. It also
# checks metadata.json and every attachment against the manifest's SHA-256
# and that each `covers` digest names a signature in the file. With ROOT.pem
# it also asks `openssl verify` whether the x5c chain leads to that root at
# the claimed signing time (sigT).
#
# Not checked here (congvan's own verifier does these): certificate role and
# organization (EKU, SAN urn:congvan:org:), keyUsage, CA subtrees, CRLs,
# receipts and proof of existence.
#
# Exit status: 0 when everything checked out, 1 otherwise, 2 on bad usage.
# Needs bash, python3, openssl (1.1.1 or 3.x), od, tr, GNU date (with ROOT.pem).
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || ! -f $1 ]]; then
    echo "usage: $0 FILE.cvd [ROOT.pem]" >&2
    exit 2
fi
file=$1
root=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0

# The bytes of one ZIP entry, exactly as stored (names are used verbatim,
# so no shell or unzip pattern rules apply to them).
entry() {
    python3 -c 'import sys, zipfile
sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' "$file" "$1"
}

# Entry names under a prefix, in container order.
names() {
    python3 -c 'import sys, zipfile
for n in zipfile.ZipFile(sys.argv[1]).namelist():
    if n.startswith(sys.argv[2]): print(n)' "$file" "$1"
}

# A field of a JSON file: field FILE key [key|index ...]; strings raw,
# anything else as JSON, one array element per line with "each".
field() {
    python3 -c 'import json, sys
v = json.load(open(sys.argv[1], encoding="utf-8"))
keys = sys.argv[2:]
each = keys[-1:] == ["each"]
for k in keys[:-1] if each else keys:
    v = v[int(k)] if isinstance(v, list) else v.get(k)
    if v is None: sys.exit(0)
for x in (v if each else [v]):
    print(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False))' "$@"
}

b64url_encode() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
b64url_decode() {
    local s
    s=$(tr -- '-_' '+/')
    while ((${#s} % 4)); do s+='='; done
    printf '%s' "$s" | openssl base64 -d -A
}
sha256_of() { openssl dgst -sha256 -r | cut -d' ' -f1; }
hex_of() { od -An -v -tx1 | tr -d ' \n'; }

entry META-INF/manifest.json >"$work/manifest.json"

# 1. The signed content against the manifest.
check_digest() { # NAME EXPECTED-SHA256
    local actual
    actual=$(entry "$1" | sha256_of)
    if [[ $actual == "$2" ]]; then
        echo "sha256 matches the manifest: $1"
    else
        echo "FAILED: $1 has sha256 $actual, the manifest lists $2"
        status=1
    fi
}
check_digest "$(field "$work/manifest.json" metadata name)" \
    "$(field "$work/manifest.json" metadata sha256)"
count=$(field "$work/manifest.json" attachments | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
for ((i = 0; i < count; i++)); do
    check_digest "$(field "$work/manifest.json" attachments "$i" name)" \
        "$(field "$work/manifest.json" attachments "$i" sha256)"
done

# 2. The detached payload: BASE64URL of the manifest bytes, unpadded.
payload=$(b64url_encode <"$work/manifest.json")

mapfile -t signatures < <(names META-INF/signatures/)
if ((${#signatures[@]} == 0)); then
    echo "FAILED: the dispatch carries no signature"
    exit 1
fi
# SHA-256 of each decoded signature value, for `covers`.
declare -A digest_of
for sig in "${signatures[@]}"; do
    entry "$sig" >"$work/jws.json"
    digest_of[$(field "$work/jws.json" signature | b64url_decode | sha256_of)]=$sig
done

# 3. Each signature.
for sig in "${signatures[@]}"; do
    entry "$sig" >"$work/jws.json"
    protected=$(field "$work/jws.json" protected)
    printf '%s' "$protected" | b64url_decode >"$work/header.json"
    alg=$(field "$work/header.json" alg)
    role=$(field "$work/header.json" congvan role)
    sig_t=$(field "$work/header.json" sigT)
    field "$work/header.json" x5c 0 | openssl base64 -d -A >"$work/cert.der"
    openssl x509 -inform DER -in "$work/cert.der" -noout -pubkey >"$work/pub.pem"
    subject=$(openssl x509 -inform DER -in "$work/cert.der" -noout -subject -nameopt utf8,sep_comma_plus)
    echo "$sig: $alg, role $role, sigT $sig_t, ${subject}"

    # Signing input: ASCII(BASE64URL(protected)) || '.' || BASE64URL(manifest).
    printf '%s.%s' "$protected" "$payload" >"$work/input.txt"
    field "$work/jws.json" signature | b64url_decode >"$work/sig.raw"

    case $alg in
    ES256 | ES384)
        # JWS carries r || s (RFC 7518 §3.4); openssl wants DER
        # ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }.
        half=$(($(wc -c <"$work/sig.raw") / 2))
        r=$(head -c "$half" "$work/sig.raw" | hex_of)
        s=$(tail -c "$half" "$work/sig.raw" | hex_of)
        printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' "$r" "$s" >"$work/sig.cnf"
        openssl asn1parse -genconf "$work/sig.cnf" -out "$work/sig.der" -noout
        digest=-sha256
        [[ $alg == ES384 ]] && digest=-sha384
        if ! openssl dgst "$digest" -verify "$work/pub.pem" -signature "$work/sig.der" "$work/input.txt"; then
            status=1
        fi
        ;;
    RS256)
        if ! openssl dgst -sha256 -verify "$work/pub.pem" -signature "$work/sig.raw" "$work/input.txt"; then
            status=1
        fi
        ;;
    EdDSA)
        # Ed25519 signs the message itself (no pre-hash): pkeyutl -rawin.
        if openssl pkeyutl -verify -pubin -inkey "$work/pub.pem" -rawin \
            -in "$work/input.txt" -sigfile "$work/sig.raw" >/dev/null; then
            echo "Verified OK"
        else
            echo "Verification failure"
            status=1
        fi
        ;;
    *)
        echo "FAILED: unsupported alg $alg"
        status=1
        ;;
    esac

    # Earlier signatures this one covers (seal, copy).
    while read -r covered; do
        [[ -z $covered ]] && continue
        if [[ -n ${digest_of[$covered]:-} ]]; then
            echo "  covers ${digest_of[$covered]}"
        else
            echo "  FAILED: covers sha256 $covered, which is no signature in the file"
            status=1
        fi
    done < <(field "$work/header.json" congvan covers each)

    # The chain, at the claimed signing time, when a root is given.
    if [[ -n $root ]]; then
        : >"$work/chain.pem"
        n=$(field "$work/header.json" x5c | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
        for ((i = 1; i < n; i++)); do
            field "$work/header.json" x5c "$i" | openssl base64 -d -A |
                openssl x509 -inform DER >>"$work/chain.pem"
        done
        openssl x509 -inform DER -in "$work/cert.der" -out "$work/cert.pem"
        if openssl verify -attime "$(date -u -d "$sig_t" +%s)" -CAfile "$root" \
            -untrusted "$work/chain.pem" "$work/cert.pem" >/dev/null; then
            echo "  chain to $root valid at $sig_t (openssl verify)"
        else
            echo "  FAILED: openssl verify rejects the chain at $sig_t"
            status=1
        fi
    fi
done
exit "$status"
