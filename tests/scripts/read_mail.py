"""Prints the messages an aiosmtpd Mailbox handler stored, as JSON.

Usage: read_mail.py MAILDIR
Each message: to, from, subject (RFC 2047 decoded), raw_subject, charset, body.
"""
import json
import mailbox
import sys
from email.header import decode_header, make_header


def main() -> None:
    box = mailbox.Maildir(sys.argv[1], create=False)
    out = []
    for key in sorted(box.keys()):
        msg = box[key]
        part = msg
        if msg.is_multipart():
            part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
        charset = part.get_content_charset()
        body = part.get_payload(decode=True).decode(charset or "ascii")
        raw_subject = msg["Subject"]
        out.append({
            "to": [a.strip() for a in (msg["To"] or "").split(",")],
            "from": msg["From"],
            "raw_subject": raw_subject,
            "subject": str(make_header(decode_header(raw_subject))),
            "content_type": part.get_content_type(),
            "charset": charset,
            "body": body,
        })
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
