"""Verifies every signature of an extracted .cvd with jwcrypto, an independent JOSE library.

Usage: jose_verify.py MANIFEST.json SIGNATURE.json...
The manifest bytes are the detached payload (RFC 7515 Appendix F).
Prints one line per signature and exits non-zero if any fails.
"""
import base64
import json
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk, jws


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main() -> int:
    manifest = open(sys.argv[1], "rb").read()
    failures = 0
    for path in sys.argv[2:]:
        stored = json.load(open(path))
        header = json.loads(base64.urlsafe_b64decode(stored["protected"] + "=="))
        cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
        pem = cert.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        key = jwk.JWK.from_pem(pem)
        token = jws.JWS()
        stored["payload"] = b64url(manifest)
        token.deserialize(json.dumps(stored))
        try:
            token.verify(key, alg=header["alg"])
            print(f"{path}: verified {header['alg']} role={header['congvan']['role']}")
        except Exception as exc:  # jwcrypto raises InvalidJWSSignature
            print(f"{path}: FAILED {exc!r}")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
