#!/usr/bin/env python3
"""An independent JWE implementation (Python jwcrypto) for congvan's tests.

  decrypt-sealed SEALED.cvd KEY.pem OUT   decrypt every chunk of a sealed
      container's ciphertext as a standard JWE (RFC 7516 general JSON) and
      write the plaintext: the STREAM construction of docs/FORMAT.md §11 is
      rebuilt here from the document, not from congvan's code.
  encrypt CERT.pem IN OUT.jwe             encrypt IN to one certificate as a
      general-JSON JWE (ECDH-ES+A256KW, A256GCM) with x5t#S256 and kid.
"""
import base64
import hashlib
import json
import sys
import zipfile

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwcrypto import jwe, jwk


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def nonce(iv, index, last):
    n = bytearray(iv)
    for i, byte in enumerate(index.to_bytes(4, "big")):
        n[7 + i] ^= byte
    if not last:
        n[11] ^= 0x01
    return bytes(n)


def decrypt_sealed(sealed, key_pem, out):
    with open(key_pem, "rb") as f:
        key = jwk.JWK.from_pem(f.read())
    with zipfile.ZipFile(sealed) as z:
        header = json.loads(z.read("jwe.json"))
        ciphertext = z.read("ciphertext.bin")
    protected = json.loads(unb64(header["protected"]))
    chunk = protected["congvan_stream"]["chunk_size"]
    size = protected["congvan_stream"]["size"]
    assert size == len(ciphertext), (size, len(ciphertext))
    tags = unb64(header["tag"])
    count = max(1, -(-size // chunk))
    assert len(tags) == 16 * count
    iv = unb64(header["iv"])
    plain = bytearray()
    for i in range(count):
        piece = ciphertext[i * chunk:(i + 1) * chunk]
        one = {
            "protected": header["protected"],
            "recipients": header["recipients"],
            "aad": header["aad"],
            "iv": b64(nonce(iv, i, i == count - 1)),
            "ciphertext": b64(piece),
            "tag": b64(tags[16 * i:16 * (i + 1)]),
        }
        token = jwe.JWE()
        token.deserialize(json.dumps(one), key=key)
        plain += token.payload
    with open(out, "wb") as f:
        f.write(plain)


def encrypt(cert_pem, infile, out):
    with open(cert_pem, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    der = cert.public_bytes(serialization.Encoding.DER)
    public = jwk.JWK.from_pem(
        cert.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with open(infile, "rb") as f:
        payload = f.read()
    token = jwe.JWE(payload, protected=json.dumps({"enc": "A256GCM"}))
    token.add_recipient(
        public,
        header=json.dumps(
            {"alg": "ECDH-ES+A256KW", "x5t#S256": b64(hashlib.sha256(der).digest())}
        ),
    )
    with open(out, "w") as f:
        f.write(token.serialize(compact=False))


if __name__ == "__main__":
    if sys.argv[1] == "decrypt-sealed":
        decrypt_sealed(*sys.argv[2:5])
    elif sys.argv[1] == "encrypt":
        encrypt(*sys.argv[2:5])
    else:
        sys.exit("unknown mode " + sys.argv[1])
