#!/usr/bin/env bash
# Verifies a congvan dispatch (.cvd) by hand, independently of congvan: openssl
# for every cryptographic step, python3 (standard library only) to read the
# ZIP, the JSON and the certificates' DER. This is the procedure of
# docs/FORMAT.md, "Checking a signature by hand", plus the format's rules.
#
#   docs/verify-by-hand.sh FILE.cvd [ROOT.pem]
#
# What it checks, in order (one line per finding, "FAILED: ..." or
# "INDETERMINATE: ..."):
#
# 1. The container (FORMAT §1), read strictly from the raw bytes: the end
#    record (and ZIP64 records) ends the file, the central directory holds
#    exactly the declared records, the entries lie back to back from byte 0
#    in directory order, each local header repeats its record; no comments,
#    encryption, data descriptors or extra fields (but a needed ZIP64 one),
#    only stored and deflate, regular files only; CRC-32 and size of every
#    entry. Then the closed layout: mimetype first and stored, only the
#    entries of §1.1, the limits of §1.4 (receipts: 64 and 1 MiB), attachment
#    names (§1.2), media types and digests in the manifest, the manifest in
#    RFC 8785 form, the listing (§1.3). A container failing any of these is
#    not a dispatch: the script says why and stops (exit 1).
# 2. The metadata's text rules (§3.6: NFC, no control, invisible or direction
#    characters), and each receipt's text (an invalid receipt is reported and
#    counts for nothing; receipts are not otherwise verified).
# 3. metadata.json and every attachment against the manifest's size and
#    SHA-256.
# 4. Each signature (in number order): its protected header (no `crit`), the
#    JWS signature with openssl ("Verified OK"), low-s for ECDSA, `covers`
#    (a seal or copy covers exactly the signatures before it, a signer or
#    countersignature none), sigT; its certificates: key type and strength
#    (no DSA, RSA < 2048, small curves), no duplicate extension, the role's
#    EKU and keyUsage in x5c[0], the EKU of each CA in x5c, the organization
#    (SAN urn:congvan:org:) and the CA subtree rule along x5c, signer and
#    seal from the issuing office; at least one signer.
# 5. With ROOT.pem: `openssl verify -auth_level 2` of the x5c chain at sigT,
#    and again now: a chain that has expired since sigT would need proof of
#    existence (custody receipts), which this script does not check.
#
# Not checked here (congvan's own verifier does these): CRLs, receipt
# signatures and certificates, proof of existence, the Decree 30 rules of
# the metadata (§3.6 apart from text), and, without ROOT.pem, any chain.
#
# Exit status: 0 when everything checked out, 1 when something FAILED (or the
# file cannot be checked), 3 when nothing failed but something is
# INDETERMINATE, 2 on bad usage.
# Needs bash, python3 (3.8 or later), openssl (1.1.1 or 3.x), od, tr.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || ! -f $1 || ( $# -eq 2 && ! -f $2 ) ]]; then
    echo "usage: $0 FILE.cvd [ROOT.pem]" >&2
    exit 2
fi
file=$1
root=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A step that fails unexpectedly (say, openssl on a certificate it cannot
# read) refuses the file rather than passing it.
trap 'echo "FAILED: a step failed unexpectedly (line $LINENO); the file cannot be checked"; exit 1' ERR
status=0        # 1 once something FAILED
indeterminate=0 # 1 once something is INDETERMINATE

# The structural, name, text and policy checks: python3 FILE WORKDIR.
# Prints one line per problem; exit 0 fine, 1 FAILED, 3 INDETERMINATE, 4 the
# container is not a dispatch (stop). Writes into WORKDIR: `signatures` (every
# signature entry, in number order), `digests` ("SHA256 ENTRY" of each
# decoded signature value) and `checkable` ("ENTRY EPOCH" for each signature
# whose header and certificates could be read, EPOCH its sigT or "-").
cat >"$work/check.py" <<'PY'
import base64, hashlib, json, mmap, re, struct, sys, time, unicodedata, zlib
from datetime import datetime, timedelta, timezone

sys.stdout.reconfigure(errors="backslashreplace")
KiB, MiB = 1 << 10, 1 << 20
S16, S32 = 0xFFFF, 0xFFFFFFFF
found = set()


class Problem(Exception):
    pass


def need(ok, why):
    if not ok:
        raise Problem(why)


def say(level, text):
    print(f"{level}: {text}")
    found.add(level)


# ---- text --------------------------------------------------------------
FILLERS = "\u115f\u1160\u3164\uffa0"  # Hangul fillers: blank letters
SLASHES = "\u2044\u2215\u2571\u29f8\uff0f\u2216\u29f5\u29f9\ufe68\uff3c\u0337\u0338"


def unsafe(c):
    """Controls, format (bidi, zero-width, BOM...), line/paragraph separators, fillers."""
    return unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs") or c in FILLERS


def shown(s):
    """A value quoted for a line of output, unsafe characters escaped."""
    return '"' + "".join(f"\\u{{{ord(c):04X}}}" if unsafe(c) else c for c in s) + '"'


def text_problem(value, multi=False, required=True, max_chars=300):
    """FORMAT §3.6 text: the first problem, or None."""
    if not isinstance(value, str):
        return "is not a string"
    for c in value:
        if multi and c in "\n\t":
            continue
        if unicodedata.category(c) == "Cc":
            return f"contains the control character U+{ord(c):04X}"
        if unsafe(c):
            return f"contains the invisible or direction character U+{ord(c):04X}"
    if not unicodedata.is_normalized("NFC", value):
        return "is not in Unicode NFC form"
    if required and not value.strip():
        return "is empty"
    if len(value) > max_chars:
        return f"is {len(value)} characters long; at most {max_chars} are allowed"
    return None


def attachment_name_problem(name):
    """FORMAT §1.2: why `name` is not a safe attachment name, or None."""
    if not name:
        return "is empty"
    if len(name.encode()) > 200:
        return "is longer than 200 bytes"
    if "/" in name or "\\" in name:
        return "contains a path separator"
    if any(c in SLASHES for c in name):
        return "contains a character that looks like a slash"
    if name.startswith("."):
        return "starts with a dot"
    if any(unsafe(c) for c in name):
        return "contains a control, invisible or direction character"
    if any(c in '<>:"|?*' for c in name):
        return "contains a character Windows does not allow in file names"
    if not unicodedata.is_normalized("NFC", name):
        return "is not in Unicode NFC form"
    if name.endswith((" ", ".")):
        return "ends with a space or dot"
    stem = name.split(".")[0].rstrip(" ").upper()
    if stem in ("CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$") or (
        len(stem) == 4 and stem[:3] in ("COM", "LPT") and stem[3] in "0123456789\u00b9\u00b2\u00b3"
    ):
        return "is a Windows device name"
    return None


def media_type_ok(media_type):
    """RFC 6838 restricted names: type/subtype, no parameters."""
    part = r"[A-Za-z0-9][A-Za-z0-9!#$&\-^_.+]{0,126}"
    return isinstance(media_type, str) and re.fullmatch(part + "/" + part, media_type) is not None


def is_sha256(s):
    return isinstance(s, str) and re.fullmatch("[0-9a-f]{64}", s) is not None


def org_id(text):
    """An organization id (FORMAT §2) as its tuple of segments, or None."""
    if not isinstance(text, str):
        return None
    t = text.strip()
    if not t or not t.isascii() or len(t) > 35:
        return None
    parts = t.upper().split(".")
    digits = lambda p: p != "" and all(c in "0123456789" for c in p)
    level1 = lambda p: len(p) == 3 and "A" <= p[0] <= "Z" and digits(p[1:])
    if "" in parts:
        return None
    if len(parts) == 4 and len(parts[0]) == 3 and digits(parts[0]) and len(parts[1]) == 2 and len(parts[2]) == 2:
        if not level1(parts[3]) or not all(digits(p) for p in parts[:3]):
            return None  # QCVN 102:2016 form, read right to left
        segments, ended = [parts[3]], False
        for p in (parts[2], parts[1], parts[0]):
            if set(p) == {"0"}:
                ended = True
            elif ended:
                return None
            else:
                segments.append(p)
        return tuple(segments)
    if not level1(parts[0]) or not all(len(p) <= 5 and p.isalnum() for p in parts[1:]):
        return None
    return tuple(parts)


# ---- encodings ---------------------------------------------------------
def strict_json(raw, what):
    """JSON as serde_json reads it: UTF-8, no duplicate member, no NaN."""
    def pairs(kv):
        keys = [k for k, _ in kv]
        need(len(set(keys)) == len(keys), f"{what} has a member twice")
        return dict(kv)

    def constant(name):
        raise Problem(f"{what} holds {name}, which is not JSON")

    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs, parse_constant=constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise Problem(f"{what} is not valid JSON ({e})")

    def walk(v):  # lone surrogates (\ud800) are no text
        if isinstance(v, str):
            need(not any("\ud800" <= c <= "\udfff" for c in v), f"{what} holds a lone surrogate")
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(k)
                walk(x)
    walk(value)
    return value


def b64url(text, what):
    """BASE64URL without padding, canonical (RFC 7515)."""
    need(isinstance(text, str) and re.fullmatch("[A-Za-z0-9_-]*", text) and len(text) % 4 != 1,
         f"{what} is not BASE64URL without padding")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    need(base64.urlsafe_b64encode(raw).decode().rstrip("=") == text, f"{what} is not canonical BASE64URL")
    return raw


def b64std(text, what):
    """Standard base64 with padding, canonical (x5c, RFC 7515 §4.1.6)."""
    need(isinstance(text, str) and re.fullmatch("[A-Za-z0-9+/]*={0,2}", text) and len(text) % 4 == 0,
         f"{what} is not standard base64")
    raw = base64.b64decode(text, validate=True)
    need(base64.b64encode(raw).decode() == text, f"{what} is not canonical base64")
    return raw


def rfc3339(text):
    """Seconds since the epoch of an RFC 3339 time, or None."""
    m = isinstance(text, str) and re.fullmatch(
        r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
        r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))", text)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    try:
        offset = timedelta(0)
        if m.group(8):
            need(int(m.group(9)) < 24 and int(m.group(10)) < 60, "offset")
            offset = timedelta(hours=int(m.group(9)), minutes=int(m.group(10)))
            offset = -offset if m.group(8) == "-" else offset
        at = datetime(y, mo, d, h, mi, s, tzinfo=timezone(offset))
    except (ValueError, Problem):
        return None
    return at.timestamp() + float(m.group(7) or 0)


# ---- DER (certificates) -------------------------------------------------
def der(b, i, end):
    """The DER element of b at i (before end): (tag, content start, content end)."""
    need(i + 2 <= end, "truncated DER")
    tag, n, i = b[i], b[i + 1], i + 2
    need(tag & 0x1F != 0x1F, "DER tag out of range")
    if n & 0x80:
        k = n & 0x7F
        need(1 <= k <= 4 and i + k <= end, "bad DER length")
        n, i = int.from_bytes(b[i:i + k], "big"), i + k
    need(i + n <= end, "truncated DER")
    return tag, i, i + n


def children(b, start, end):
    out = []
    while start < end:
        out.append(der(b, start, end))
        start = out[-1][2]
    return out


def oid(b):
    arcs, v = [], 0
    for x in b:
        v = (v << 7) | (x & 0x7F)
        if not x & 0x80:
            arcs.append(v)
            v = 0
    need(arcs and v == 0, "bad OID")
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first] + arcs[1:])


OID_EC, OID_RSA, OID_DSA = "1.2.840.10045.2.1", "1.2.840.113549.1.1.1", "1.2.840.10040.4.1"
OID_ED25519, OID_ED448 = "1.3.101.112", "1.3.101.113"
CURVES = {"1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384", "1.3.132.0.35": "P-521"}
OID_SAN, OID_EKU, OID_KU = "2.5.29.17", "2.5.29.37", "2.5.29.15"
OID_ANY_EKU, OID_DOC_SIGNING = "2.5.29.37.0", "1.3.6.1.5.5.7.3.36"
ROLE_ARC = "2.25.171838327477816780108237510255657800027.1"
PURPOSES = {  # what each signature role needs of every certificate with an EKU
    "signer": (OID_DOC_SIGNING, ROLE_ARC + ".2"), "countersign": (OID_DOC_SIGNING, ROLE_ARC + ".2"),
    "seal": (OID_DOC_SIGNING, ROLE_ARC + ".1"), "copy": (OID_DOC_SIGNING, ROLE_ARC + ".1"),
}


def certificate(d):
    """The parts of an X.509 certificate these checks need."""
    tag, s, e = der(d, 0, len(d))
    need(tag == 0x30 and e == len(d), "not a DER certificate")
    tag, s, e = der(d, s, e)
    need(tag == 0x30, "no tbsCertificate")
    tbs = children(d, s, e)
    k = 1 if tbs and tbs[0][0] == 0xA0 else 0  # [0] version
    need(len(tbs) >= k + 6 and tbs[k + 5][0] == 0x30, "no subjectPublicKeyInfo")
    alg, bits = children(d, tbs[k + 5][1], tbs[k + 5][2])
    alg = children(d, alg[1], alg[2])
    cert = {"key": oid(d[alg[0][1]:alg[0][2]]), "curve": None, "rsa_bits": 0,
            "ext": {}, "twice": [], "orgs": [], "eku": None, "ku": 0}
    if cert["key"] == OID_EC and len(alg) > 1 and alg[1][0] == 0x06:
        cert["curve"] = oid(d[alg[1][1]:alg[1][2]])
    if cert["key"] == OID_RSA:
        need(bits[0] == 0x03 and d[bits[1]] == 0, "bad RSA key")
        tag, s, e = der(d, bits[1] + 1, bits[2])
        modulus = children(d, s, e)[0]
        cert["rsa_bits"] = int.from_bytes(d[modulus[1]:modulus[2]], "big").bit_length()
    for tag, s, e in tbs[k + 6:]:
        if tag != 0xA3:  # [3] extensions
            continue
        tag, s, e = der(d, s, e)
        for _, xs, xe in children(d, s, e):
            parts = children(d, xs, xe)
            name, value = oid(d[parts[0][1]:parts[0][2]]), d[parts[-1][1]:parts[-1][2]]
            if name in cert["ext"]:
                cert["twice"].append(name)
            cert["ext"][name] = value
    if OID_SAN in cert["ext"]:
        v = cert["ext"][OID_SAN]
        tag, s, e = der(v, 0, len(v))
        for tag, s, e in children(v, s, e):
            uri = v[s:e].decode("latin-1")
            if tag == 0x86 and uri.startswith("urn:congvan:org:"):  # [6] URI
                cert["orgs"].append(org_id(uri[len("urn:congvan:org:"):]))
    if OID_EKU in cert["ext"]:
        v = cert["ext"][OID_EKU]
        tag, s, e = der(v, 0, len(v))
        cert["eku"] = [oid(v[cs:ce]) for _, cs, ce in children(v, s, e)]
    if OID_KU in cert["ext"]:
        v = cert["ext"][OID_KU]
        tag, s, e = der(v, 0, len(v))
        cert["ku"] = v[s + 1] if e > s + 1 else 0  # first byte of the bits
    return cert


def key_problem(cert):
    """Keys congvan refuses (NIST SP 800-57, 112 bits), as openssl -auth_level 2."""
    key = cert["key"]
    if key == OID_DSA:
        return "a DSA key; DSA is not accepted"
    if key == OID_RSA and not 2048 <= cert["rsa_bits"] <= 8192:
        return f"an RSA key of {cert['rsa_bits']} bits (2048 to 8192 are accepted)"
    if key == OID_EC and cert["curve"] not in CURVES:
        return f"an EC key on the curve {cert['curve']} (P-256, P-384 or P-521 are accepted)"
    if key not in (OID_EC, OID_RSA, OID_ED25519, OID_ED448):
        return f"a key of the algorithm {key}, which is not accepted"
    return None


# ---- 1. the container -----------------------------------------------------
def zip_values(extra, count, where):
    """An extra field that is empty, or one ZIP64 field of exactly `count` values."""
    if not extra:
        need(count == 0, f"{where} declares ZIP64 values but has no ZIP64 field")
        return []
    need(len(extra) >= 4, f"{where} has a truncated extra field")
    hid, size = struct.unpack_from("<HH", extra)
    need(hid == 1, f"{where} has an extra field (header 0x{hid:04x}); only a needed ZIP64 one is allowed")
    need(4 + size == len(extra), f"{where} has more than one extra field, or a truncated one")
    need(count > 0, f"{where} has a ZIP64 field but no value that needs it")
    need(size == 8 * count, f"{where} has a ZIP64 field of {size} bytes for {count} value(s)")
    return list(struct.unpack_from(f"<{count}Q", extra, 4))


def read_zip(data):
    """The entries of a ZIP read strictly from its bytes (FORMAT §1.1)."""
    size = len(data)
    need(size >= 22, "the file is too short to be a ZIP archive")
    end_at = size - 22
    sig, disk, cd_disk, here, count, cd_size, cd_off, comment = struct.unpack_from("<IHHHHIIH", data, end_at)
    need(sig == 0x06054B50, "the file does not end with a ZIP end-of-central-directory record "
         "(an archive comment or bytes after the archive, or not a ZIP)")
    need(comment == 0, "the archive has a comment")
    need(disk == 0 and cd_disk == 0 and here == count, "the archive spans several disks")
    cd_end = end_at
    if S16 == count or S32 in (cd_size, cd_off):
        need(end_at >= 76, "the end record points to ZIP64 records that are not there")
        loc_at = end_at - 20
        z_at = loc_at - 56
        lsig, ldisk, lz_at, disks = struct.unpack_from("<IIQI", data, loc_at)
        need(lsig == 0x07064B50 and ldisk == 0 and lz_at == z_at and disks == 1,
             "the ZIP64 locator is missing, misplaced or multi-disk")
        zsig, rest, _, _, zdisk, zcd_disk, zhere, zcount, zsize, zoff = struct.unpack_from("<IQHHIIQQQQ", data, z_at)
        need(zsig == 0x06064B50 and rest == 44 and zdisk == 0 and zcd_disk == 0 and zhere == zcount,
             "the ZIP64 end record is missing, multi-disk or carries extensible data")
        for classic, sentinel, value in ((count, S16, zcount), (cd_size, S32, zsize), (cd_off, S32, zoff)):
            need(classic == (sentinel if value >= sentinel else value),
                 "the end record and the ZIP64 end record disagree, or ZIP64 holds values that fit")
        count, cd_size, cd_off, cd_end = zcount, zsize, zoff, z_at
    need(count <= 20000, f"the archive has {count} entries; at most 20000 are accepted")
    need(cd_off + cd_size == cd_end, "the central directory does not end where the end record begins "
         "(bytes no entry accounts for, or a wrong size)")
    need(cd_size <= 16 * MiB, "the central directory is larger than 16 MiB")

    records, names, p = [], set(), cd_off
    for number in range(1, count + 1):
        need(p + 46 <= cd_end, f"the central directory ends inside record {number}")
        (sig, made_by, _, flags, method, mtime, mdate, crc, csize, usize, nlen, xlen, clen,
         rdisk, internal, external, offset) = struct.unpack_from("<IHHHHHHIIIHHHHHII", data, p)
        need(sig == 0x02014B50, f"central directory record {number} is not one")
        nxt = p + 46 + nlen + xlen + clen
        need(nxt <= cd_end, f"central directory record {number} runs past the directory")
        name_bytes, extra = data[p + 46:p + 46 + nlen], data[p + 46 + nlen:p + 46 + nlen + xlen]
        try:
            name = name_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise Problem(f"the name of entry {number} is not valid UTF-8")
        need(name, f"entry {number} has an empty name")
        need(name not in names, f"the entry name {shown(name)} appears twice")
        names.add(name)
        what = f"entry {shown(name)}"
        need(name.isascii() or flags & 0x800, f"{what} has a non-ASCII name without the UTF-8 flag")
        need(not flags & 0x1, f"{what} is encrypted")
        need(not flags & 0x8, f"{what} uses a data descriptor")
        need(not flags & ~(0x800 | (0x6 if method == 8 else 0)), f"{what} has general-purpose flags 0x{flags:04x}")
        need(method in (0, 8), f"{what} uses compression method {method}; only 0 and 8 are read")
        need(clen == 0, f"{what} has a comment")
        need(rdisk == 0, f"{what} is on another disk")
        need(not internal & ~1, f"{what} has unknown internal attributes")
        if made_by >> 8 in (3, 19):  # Unix, OS X: the high half is a Unix mode
            mode = external >> 16
            need(mode & 0o170000 in (0, 0o100000), f"{what} is not a regular file (Unix mode 0o{mode:o})")
            need(not mode & 0o7000, f"{what} has setuid, setgid or sticky bits (Unix mode 0o{mode:o})")
        need(not external & 0x18, f"{what} is marked as a folder or volume label")
        # The ZIP64 field holds exactly the values whose 32-bit field is the
        # sentinel (size, compressed size, offset), each needing 64 bits.
        values = iter(zip_values(extra, [usize, csize, offset].count(S32), what))

        def resolve(v):
            if v != S32:
                return v
            v = next(values)
            need(v >= S32, f"{what} uses ZIP64 for a value that fits in 32 bits")
            return v
        usize, csize, offset = resolve(usize), resolve(csize), resolve(offset)
        need(method != 0 or csize == usize, f"{what} is stored but declares two different sizes")
        records.append(dict(name=name, name_bytes=name_bytes, flags=flags, method=method, time=mtime,
                            date=mdate, crc=crc, csize=csize, usize=usize, offset=offset,
                            zip64=S32 in struct.unpack_from("<II", data, p + 20)))
        p = nxt
    need(p == cd_end, f"the central directory holds {cd_end - p} bytes after the {count} records the "
         "end record declares (an uncounted record, or a wrong size)")

    expected = 0  # entries back to back from byte 0, in directory order
    for r in records:
        what = f"entry {shown(r['name'])}"
        need(r["offset"] <= expected, f"{what} does not start where the previous entry ends "
             f"(byte {expected}): hidden bytes, or entries out of directory order")
        need(r["offset"] == expected, f"{what} overlaps the entry before it, or entries are out of order")
        need(r["offset"] + 30 <= cd_off, f"the local header of {what} lies outside the entries")
        lsig, _, flags, method, ltime, ldate, crc, csize, usize, nlen, xlen = struct.unpack_from(
            "<IHHHHHIIIHH", data, r["offset"])
        need(lsig == 0x04034B50, f"{what} points to bytes that are not a local header")
        for field, ok in (("flags", flags == r["flags"]), ("method", method == r["method"]),
                          ("time", (ltime, ldate) == (r["time"], r["date"])), ("CRC-32", crc == r["crc"]),
                          ("name", data[r["offset"] + 30:r["offset"] + 30 + nlen] == r["name_bytes"])):
            need(ok, f"the local header of {what} differs from its directory record ({field})")
        extra = data[r["offset"] + 30 + nlen:r["offset"] + 30 + nlen + xlen]
        if r["zip64"]:
            sizes = zip_values(extra, 2, f"the local header of {what}")
            need((csize, usize) == (S32, S32) and sizes == [r["usize"], r["csize"]],
                 f"the local header of {what} differs from its directory record (sizes)")
        else:
            need(not extra, f"the local header of {what} has an extra field")
            need((csize, usize) == (r["csize"], r["usize"]),
                 f"the local header of {what} differs from its directory record (sizes)")
        r["data"] = r["offset"] + 30 + nlen + xlen
        expected = r["data"] + r["csize"]
    need(expected == cd_off, "bytes between the last entry and the central directory belong to no entry"
         if expected < cd_off else "the last entry runs into the central directory")
    return records


def contents(data, r, limit):
    """A small entry's bytes, inflated up to `limit`, CRC-32 and size checked."""
    what = shown(r["name"])
    need(r["usize"] <= limit, f"{what} is {r['usize']} bytes; at most {limit} are accepted")
    raw = data[r["data"]:r["data"] + r["csize"]]
    if r["method"] == 8:
        inflate = zlib.decompressobj(-15)
        try:
            raw = inflate.decompress(raw, limit + 1)
        except zlib.error as e:
            raise Problem(f"{what} is not valid deflate data ({e})")
        need(len(raw) <= limit, f"{what} inflates past {limit} bytes")
        need(inflate.eof and not inflate.unused_data, f"{what}'s deflate data does not end with the entry")
    need(len(raw) == r["usize"], f"{what} holds {len(raw)} bytes, its header says {r['usize']}")
    need(zlib.crc32(raw) == r["crc"], f"{what} does not match its CRC-32: its bytes were altered")
    return raw


def stored_crc(data, r):
    crc, at, end = 0, r["data"], r["data"] + r["csize"]
    while at < end:
        crc = zlib.crc32(data[at:min(end, at + 8 * MiB)], crc)
        at += 8 * MiB
    need(crc == r["crc"], f"{shown(r['name'])} does not match its CRC-32: its stored bytes were altered")


def exact(obj, what, required, optional=(), others=False):
    """A JSON object with the required members, and no others unless listed (or `others`)."""
    need(isinstance(obj, dict), f"{what} is not a JSON object")
    for key in sorted(set(obj) - set(required) - set(optional)):
        need(others, f"{what} has the unknown member {shown(key)}")
    for key in sorted(set(required) - set(obj)):
        raise Problem(f"{what} lacks {key}")


def jws_shape(raw, entry):
    jws = strict_json(raw, entry)
    exact(jws, entry, ("protected", "signature"), ("payload",))
    need(all(isinstance(v, str) for v in jws.values()), f"{entry}: protected, signature and payload are strings")
    return jws


METADATA_KEYS = ("format_version", "id", "from", "to", "number", "place", "date", "doc_type",
                 "subject", "signer", "created_at")
METADATA_OPTIONAL = ("content", "urgency", "secrecy", "due", "appointment", "steering", "in_reply_to")
SIGNATURE_NAME = re.compile(r"META-INF/signatures/[0-9]{4}\.json")
RECEIPT_NAME = re.compile(r"META-INF/receipts/[0-9]{4}\.json")


def read_container(data):
    records = read_zip(data)
    need(records and records[0]["name"] == "mimetype", "the mimetype entry is not the first entry")
    by_name = {r["name"]: r for r in records}
    attachments, signatures, receipts = {}, [], []
    for i, r in enumerate(records):
        name = r["name"]
        need(not name.endswith("/"), f"{shown(name)} is a folder entry")
        if name == "mimetype":
            need(i == 0 and r["method"] == 0, "the mimetype entry must be the first entry and stored")
        elif name in ("metadata.json", "META-INF/manifest.json"):
            pass
        elif name.startswith("attachments/"):
            why = attachment_name_problem(name[len("attachments/"):])
            need(why is None, f"the attachment name {shown(name[len('attachments/'):])} {why}")
            need(r["method"] == 0, f"attachment {shown(name)} is compressed; attachments are stored")
            need(r["usize"] <= 64 << 30, f"attachment {shown(name)} is larger than 64 GiB")
            attachments[name] = r
        elif SIGNATURE_NAME.fullmatch(name):
            signatures.append(r)
        elif RECEIPT_NAME.fullmatch(name):
            receipts.append(r)
        else:
            raise Problem(f"the entry {shown(name)} is not part of the dispatch format (FORMAT §1.1)")
    need(contents(data, records[0], 256) == b"application/vnd.congvan.dispatch+zip",
         "mimetype is not application/vnd.congvan.dispatch+zip")
    need(len(receipts) <= 64, f"the container has {len(receipts)} receipts; at most 64 are accepted")
    need(sum(r["usize"] for r in receipts) <= MiB, "the receipts take more than 1 MiB")
    need(len(signatures) <= 100, f"the container has {len(signatures)} signatures; at most 100 are accepted")
    need("metadata.json" in by_name, "metadata.json is missing")
    need("META-INF/manifest.json" in by_name, "META-INF/manifest.json is missing")

    metadata_bytes = contents(data, by_name["metadata.json"], 4 * MiB)
    metadata = strict_json(metadata_bytes, "metadata.json")
    exact(metadata, "metadata.json", METADATA_KEYS, METADATA_OPTIONAL)
    for party in [metadata["from"]] + (metadata["to"] if isinstance(metadata["to"], list) else [None]):
        exact(party, "metadata.json: from and to[]", ("id", "name"))
        need(org_id(party["id"]) is not None, f"metadata.json: {shown(str(party['id']))} is not an organization id")
    exact(metadata["signer"], "metadata.json: signer", ("position", "full_name"), ("authority_prefix", "authority"))
    for key in ("id", "number", "place", "date", "doc_type", "subject", "created_at"):
        need(isinstance(metadata[key], str), f"metadata.json: {key} is not a string")
    need(metadata["format_version"] == 1 and type(metadata["format_version"]) is int,
         "metadata.json: format_version is not 1")

    manifest_bytes = contents(data, by_name["META-INF/manifest.json"], 4 * MiB)
    manifest = strict_json(manifest_bytes, "META-INF/manifest.json")
    exact(manifest, "the manifest", ("attachments", "dispatch_id", "format", "metadata"))
    need(manifest["format"] == "congvan-dispatch/1", "the manifest's format is not congvan-dispatch/1")
    need(isinstance(manifest["attachments"], list), "the manifest's attachments are not a list")
    for item in [manifest["metadata"]] + manifest["attachments"]:
        exact(item, "a manifest entry", ("media_type", "name", "sha256", "size"))
        what = f"the manifest entry {shown(str(item['name']))}"
        need(isinstance(item["name"], str), f"{what}: the name is not a string")
        need(media_type_ok(item["media_type"]), f"{what}: the media type is not type/subtype (RFC 6838)")
        need(is_sha256(item["sha256"]), f"{what}: sha256 is not 64 lowercase hex digits")
        need(type(item["size"]) is int and 0 <= item["size"] < 1 << 53, f"{what}: the size is not an integer")
    canonical = json.dumps(manifest, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    need(canonical == manifest_bytes, "META-INF/manifest.json is not in RFC 8785 canonical form")
    need(manifest["dispatch_id"] == metadata["id"], "the manifest is for another dispatch than the metadata")
    need(manifest["metadata"]["name"] == "metadata.json", "the manifest's metadata entry is not metadata.json")
    listed, folded = set(), set()
    for item in manifest["attachments"]:
        name = item["name"]
        need(name.startswith("attachments/"), f"the manifest entry {shown(name)} is not an attachment")
        why = attachment_name_problem(name[len("attachments/"):])
        need(why is None, f"the attachment name {shown(name[len('attachments/'):])} {why}")
        need(name not in listed and name.lower() not in folded,
             f"the manifest lists {shown(name)} twice (names differing only in case are one file)")
        listed.add(name)
        folded.add(name.lower())
        need(name in attachments, f"the manifest lists {shown(name)}, which the container does not hold")
    for name in attachments:
        need(name in listed, f"{shown(name)} is not listed in the manifest, so no signature covers it")

    number = lambda r: int(r["name"][-9:-5])
    signatures.sort(key=number)
    receipts.sort(key=number)
    for r in attachments.values():
        stored_crc(data, r)
    signatures = [(r["name"], jws_shape(contents(data, r, 256 * KiB), r["name"])) for r in signatures]
    receipts = [(r["name"], jws_shape(contents(data, r, 256 * KiB), r["name"])) for r in receipts]
    return metadata, metadata_bytes, manifest, attachments, signatures, receipts


# ---- 2. text of the metadata and the receipts -------------------------------
def check_metadata(metadata, metadata_bytes, manifest, attachments):
    bad = lambda field, why: say("FAILED", f"metadata.json: {field} {why}")
    fields = [("from.name", metadata["from"]["name"], {})]
    fields += [(f"to[{i}].name", party["name"], {}) for i, party in enumerate(metadata["to"])]
    fields += [(key, metadata[key], {}) for key in ("number", "place")]
    fields += [("subject", metadata["subject"], {"max_chars": 1000})]
    fields += [(f"signer.{key}", metadata["signer"][key], {}) for key in ("position", "full_name")]
    if metadata["signer"].get("authority") is not None:
        fields += [("signer.authority", metadata["signer"]["authority"], {})]
    if "content" in metadata:
        fields += [("content", metadata["content"], {"multi": True, "required": False, "max_chars": 1000000})]
    for field, value, rule in fields:
        why = text_problem(value, **rule)
        if why:
            bad(field, why)
    if not re.fullmatch("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", metadata["id"]) \
            or set(metadata["id"]) <= {"0", "-"}:
        bad("id", "is not a lowercase hyphenated UUID (or is the nil UUID)")
    if manifest["metadata"]["size"] != len(metadata_bytes):
        bad("size", f"is {len(metadata_bytes)} bytes, the manifest lists {manifest['metadata']['size']}")
    for item in manifest["attachments"]:
        if item["size"] != attachments[item["name"]]["usize"]:
            say("FAILED", f"{shown(item['name'])} is {attachments[item['name']]['usize']} bytes, "
                f"the manifest lists {item['size']}")


STATEMENTS = {
    "custody": (("dispatch_id", "manifest_sha256", "signatures", "relay", "relay_name", "time"), ()),
    "status": (("dispatch_id", "manifest_sha256", "code", "by", "time"), ("note",)),
    "non_delivery": (("dispatch_id", "manifest_sha256", "relay", "undelivered", "reason", "time"), ()),
}


def receipt_problem(entry, jws):
    """Why a receipt is invalid by its shape and text, or None (FORMAT §6, §8.4)."""
    try:
        header = strict_json(b64url(jws["protected"], "protected"), "the protected header")
        exact(header, "the protected header", ("alg", "cty", "x5c"), others=True)
        need(isinstance(header["x5c"], list) and header["x5c"], "x5c is empty")
        need("payload" in jws, "the payload is missing")
        statement = strict_json(b64url(jws["payload"], "payload"), "the statement")
        need(isinstance(statement, dict) and statement.get("type") in STATEMENTS, "unknown statement type")
        required, optional = STATEMENTS[statement["type"]]
        exact(statement, "the statement", ("type",) + required, optional)
    except Problem as p:
        return str(p)
    kind = statement["type"]
    rules = {"custody": [("relay_name", {})],
             "status": [("note", {"multi": True, "required": False, "max_chars": 2000})] if "note" in statement else [],
             "non_delivery": [("reason", {"multi": True, "max_chars": 2000})]}[kind]
    for field, rule in rules:
        why = text_problem(statement[field], **rule)
        if why:
            return f"its {field} {why}"
    return None


# ---- 4. signatures ---------------------------------------------------------
ALGS = {"ES256": (OID_EC, "1.2.840.10045.3.1.7"), "ES384": (OID_EC, "1.3.132.0.34"),
        "EdDSA": (OID_ED25519, None), "RS256": (OID_RSA, None)}
ORDERS = {  # ECDSA curve orders n; JWS r || s must have s <= n/2 (low-s)
    "ES256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "ES384": int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
                 "581A0DB248B0A77AECEC196ACCC52973", 16),
}


def check_signature(entry, jws, earlier, everywhere, issuer):
    """Prints this signature's problems; returns (role, checkable, epoch or None)."""
    bad = lambda why: say("FAILED", f"{entry}: {why}")
    unsure = lambda why: say("INDETERMINATE", f"{entry}: {why}")
    try:
        header = strict_json(b64url(jws["protected"], "the protected header"), "the protected header")
        exact(header, "the protected header", ("alg", "cty", "sigT", "congvan"), others=True)
        need(all(isinstance(header[k], str) for k in ("alg", "cty", "sigT")), "alg, cty and sigT must be strings")
        exact(header["congvan"], "congvan", ("role",), ("covers",))
        need(header["congvan"]["role"] in PURPOSES, "congvan.role is not signer, seal, countersign or copy")
        covers = header["congvan"].get("covers", [])
        need(isinstance(covers, list) and all(isinstance(c, str) for c in covers), "covers is not a list of strings")
        x5c = header.get("x5c", [])
        need(isinstance(x5c, list) and all(isinstance(c, str) for c in x5c), "x5c is not a list of strings")
    except Problem as p:
        bad(p)
        return None, False, None
    role, alg = header["congvan"]["role"], header["alg"]
    if "crit" in header:
        bad("the protected header has crit: extensions this format does not define (RFC 7515 §4.1.11)")
        return role, False, None
    if alg not in ALGS:
        bad(f"unsupported alg {shown(alg)}")
        return role, False, None
    if not x5c:
        unsure("the protected header has no x5c: the signing certificate is missing")
        return role, False, None
    certs = []
    for i, text in enumerate(x5c):
        try:
            certs.append(certificate(b64std(text, f"x5c[{i}]")))
        except Exception as p:  # Problem, or DER too short for what it claims
            unsure(f"x5c[{i}] is not a readable certificate ({p})")
            return role, False, None
    signer = certs[0]
    for i, cert in enumerate(certs):
        if key_problem(cert):
            unsure(f"x5c[{i}] has {key_problem(cert)}")
            if i == 0:
                return role, False, None
    key, curve = ALGS[alg]
    if signer["key"] != key or (curve and signer["curve"] != curve):
        bad(f"the header says {alg} but the key of x5c[0] is not for that algorithm")
        return role, False, None
    try:
        value = b64url(jws["signature"], "the signature")
    except Problem as p:
        bad(p)
        return role, False, None
    if alg in ORDERS:
        width = (ORDERS[alg].bit_length() + 7) // 8
        if len(value) != 2 * width:
            bad(f"an {alg} signature is {2 * width} bytes r || s, this one {len(value)}")
            return role, False, None
        if int.from_bytes(value[width:], "big") > ORDERS[alg] // 2:
            bad("the ECDSA signature has a high s (s > n/2): its low-s twin is the signature")

    # covers: a seal or copy covers exactly the signatures before it, each
    # once; a signer or countersignature covers none. (A digest that is no
    # signature of the file at all is reported with the covers lines below.)
    if role in ("signer", "countersign") and covers:
        bad(f"a {role} signature covers no other signature, but this one lists {len(covers)}")
    elif role in ("seal", "copy"):
        if len(set(covers)) != len(covers):
            bad(f"this {role} lists a signature twice in covers")
        for digest in covers:
            if digest in everywhere and digest not in earlier.values():
                bad(f"this {role} covers a signature that is not before it")
        for name, digest in earlier.items():
            if digest is None or digest not in covers:
                bad(f"this {role} does not cover {name}, which comes before it")

    epoch = rfc3339(header["sigT"])
    if epoch is None:
        bad(f"sigT {shown(header['sigT'])} is not an RFC 3339 time")
    elif epoch > time.time() + 300:
        unsure(f"the claimed signing time {header['sigT']} is in the future")

    # The certificates, as congvan's path validation asks (FORMAT §7.2).
    purposes = PURPOSES[role]
    for i, cert in enumerate(certs):
        for name in cert["twice"]:
            bad(f"x5c[{i}] has the extension {name} twice, which makes it invalid")
        if len(cert["orgs"]) > 1 or None in cert["orgs"]:
            unsure(f"x5c[{i}] has two urn:congvan:org: names, or one that is no organization id")
        if i > 0 and cert["eku"] is not None and OID_ANY_EKU not in cert["eku"]:
            for purpose in purposes:
                if purpose not in cert["eku"]:
                    unsure(f"the CA certificate x5c[{i}] has an extendedKeyUsage without {purpose}, "
                           f"which a {role} signature needs")
    if not all(p in (signer["eku"] or []) for p in purposes):
        unsure(f"x5c[0] is not a certificate for a {role} signature (its EKU lacks {' or '.join(purposes)})")
    if signer["ku"] & 0xC0 != 0xC0:
        unsure("the keyUsage of x5c[0] lacks digitalSignature or contentCommitment")
    orgs = [c["orgs"][0] if len(c["orgs"]) == 1 else None for c in certs]
    if orgs[0] is None:
        unsure("x5c[0] binds no organization (SAN URI urn:congvan:org:<id>)")
    for i, below in enumerate(orgs):
        for j in range(i + 1, len(orgs)):
            if below and orgs[j] and below[:len(orgs[j])] != orgs[j]:
                unsure(f"x5c[{i}] ({'.'.join(below)}) lies outside its CA x5c[{j}] ({'.'.join(orgs[j])})")
    if role in ("signer", "seal") and orgs[0] and orgs[0] != issuer:
        unsure(f"a {role} signature must come from the issuing office {'.'.join(issuer)}, "
               f"but x5c[0] belongs to {'.'.join(orgs[0])}")
    return role, True, epoch


def main(path, work):
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    try:
        metadata, metadata_bytes, manifest, attachments, signatures, receipts = read_container(data)
    except Problem as p:
        print(f"FAILED: {p} (the container is not a dispatch; nothing else is checked)")
        return 4
    print(f"container: {len(signatures)} signature(s), {len(attachments)} attachment(s), "
          f"{len(receipts)} receipt(s); ZIP structure and layout as FORMAT §1 requires")
    check_metadata(metadata, metadata_bytes, manifest, attachments)
    for entry, jws in receipts:
        why = receipt_problem(entry, jws)
        if why:
            print(f"{entry}: invalid receipt, it counts for nothing: {why}")

    digests = {}
    for entry, jws in signatures:
        try:
            digests[entry] = hashlib.sha256(b64url(jws["signature"], "signature")).hexdigest()
        except Problem:
            digests[entry] = None
    issuer = org_id(metadata["from"]["id"])
    roles, checkable = [], []
    for index, (entry, jws) in enumerate(signatures):
        earlier = {name: digests[name] for name, _ in signatures[:index]}
        everywhere = {d for d in digests.values() if d}
        role, ok, epoch = check_signature(entry, jws, earlier, everywhere, issuer)
        roles.append(role)
        if ok:
            checkable.append(f"{entry} {'-' if epoch is None else int(epoch // 1)}\n")
    if signatures and "signer" not in roles:
        say("INDETERMINATE", "no signature has the role signer (an official of the issuing office)")
    with open(f"{work}/signatures", "w") as f:
        f.writelines(f"{entry}\n" for entry, _ in signatures)
    with open(f"{work}/digests", "w") as f:
        f.writelines(f"{d} {entry}\n" for entry, d in digests.items() if d)
    with open(f"{work}/checkable", "w") as f:
        f.writelines(checkable)
    return 1 if "FAILED" in found else 3 if "INDETERMINATE" in found else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1], sys.argv[2]))
    except Exception as e:  # a file this reader did not foresee: refuse it
        print(f"FAILED: the file cannot be read ({type(e).__name__}: {e})")
        sys.exit(4)
PY

# 0. The container, the names, the text and the signature policy.
rc=0
python3 "$work/check.py" "$file" "$work" || rc=$?
case $rc in
0) ;;
1) status=1 ;;
3) indeterminate=1 ;;
4) exit 1 ;; # not a dispatch: nothing else is read
*)
    echo "FAILED: the checks stopped unexpectedly (exit $rc)"
    exit 1
    ;;
esac

# The bytes of one ZIP entry, exactly as stored (names are used verbatim,
# so no shell or unzip pattern rules apply to them). The strict reading
# above guarantees zipfile sees the same entries as every other reader.
entry() {
    python3 -c 'import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]).open(sys.argv[2]) as f: shutil.copyfileobj(f, sys.stdout.buffer, 1 << 20)' "$file" "$1"
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
# Text from the file (a certificate's name, sigT) for the terminal: control,
# invisible and direction characters escaped, as the checks above do.
safe() {
    python3 -c 'import sys, unicodedata
t = sys.stdin.buffer.read().decode("utf-8", "backslashreplace").rstrip("\n")
bad = lambda c: unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs") or c in "\u115f\u1160\u3164\uffa0"
print("".join(f"\\u{{{ord(c):04X}}}" if bad(c) else c for c in t))'
}
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

mapfile -t signatures <"$work/signatures"
if ((${#signatures[@]} == 0)); then
    echo "FAILED: the dispatch carries no signature"
    exit 1
fi
# SHA-256 of each decoded signature value, for `covers`.
declare -A digest_of
while read -r digest sig; do
    digest_of[$digest]=$sig
done <"$work/digests"

# 3. Each signature whose header and certificates could be read, in number
# order, with its sigT in seconds since the epoch ("-" when unreadable).
mapfile -t checkable <"$work/checkable"
for line in "${checkable[@]}"; do
    read -r sig sig_epoch <<<"$line"
    entry "$sig" >"$work/jws.json"
    protected=$(field "$work/jws.json" protected)
    printf '%s' "$protected" | b64url_decode >"$work/header.json"
    alg=$(field "$work/header.json" alg)
    role=$(field "$work/header.json" congvan role)
    sig_t=$(field "$work/header.json" sigT)
    field "$work/header.json" x5c 0 | openssl base64 -d -A >"$work/cert.der"
    openssl x509 -inform DER -in "$work/cert.der" -noout -pubkey >"$work/pub.pem"
    subject=$(openssl x509 -inform DER -in "$work/cert.der" -noout -subject -nameopt utf8,sep_comma_plus)
    echo "$sig: $alg, role $role, sigT $sig_t, ${subject}" | safe

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

    # The chain, at the claimed signing time, when a root is given; keys
    # weaker than 112 bits (RSA < 2048, P-192) refused by -auth_level 2.
    if [[ -n $root && $sig_epoch != - ]]; then
        : >"$work/chain.pem"
        n=$(field "$work/header.json" x5c | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
        for ((i = 1; i < n; i++)); do
            field "$work/header.json" x5c "$i" | openssl base64 -d -A |
                openssl x509 -inform DER >>"$work/chain.pem"
        done
        openssl x509 -inform DER -in "$work/cert.der" -out "$work/cert.pem"
        verify=(openssl verify -auth_level 2 -CAfile "$root")
        [[ -s $work/chain.pem ]] && verify+=(-untrusted "$work/chain.pem")
        if why=$("${verify[@]}" -attime "$sig_epoch" "$work/cert.pem" 2>&1); then
            echo "  chain to $root valid at $sig_t (openssl verify)"
            # Valid then; if not now, only proof of existence from before
            # the expiry (a custody receipt) would keep it (FORMAT §8.4).
            if ! why=$("${verify[@]}" "$work/cert.pem" 2>&1); then
                echo "  openssl verify now: $(grep -m1 error <<<"$why" || echo "$why")"
                if grep -q 'has expired' <<<"$why"; then
                    echo "INDETERMINATE: the certificate has expired since sigT; proof of existence is not checked by this script"
                else
                    echo "INDETERMINATE: the chain is valid at sigT but not now"
                fi
                indeterminate=1
            fi
        elif grep -Eq '^error (9|10) at' <<<"$why"; then # not yet valid, expired
            echo "  FAILED: openssl verify rejects the chain at $sig_t: $(grep -m1 error <<<"$why")"
            status=1
        else
            echo "  INDETERMINATE: openssl verify finds no valid chain at $sig_t: $(grep -m1 error <<<"$why" || echo "$why")"
            indeterminate=1
        fi
    fi
done
if ((status)); then
    exit 1
elif ((indeterminate)); then
    exit 3
fi
exit 0
