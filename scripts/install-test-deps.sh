#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, idempotently:
#   openssl        certificate interop tests
#   poppler-utils  pdftotext / pdftoppm for the PDF tests
#   qpdf           qpdf --check for the PDF tests
#   python3 + jwcrypto   independent JOSE verification of signatures
#   cryptography   (Python) a CRL openssl cannot write, for path-validation tests
#   aiosmtpd       a real SMTP server for the mail tests
#   unshare        (util-linux) a private mount namespace for the full-disk relay test
#   git            the test that what the README's commands create is ignored
#   curl           the README's web workplace commands
#   chromium + chromium-driver  Debian's headless browser for the web workplace tests
#   fonts-dejavu-core  Vietnamese text in the browser's screenshots
#   zbar-tools    zbarimg decodes the QR code of a rendered dispatch
#   golang-go + golang-golang-x-mod-dev  an independent check (Go's sumdb/tlog)
#                  of a relay's Merkle inclusion proofs
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "install-test-deps: need root (or sudo) to run: $*" >&2; exit 1; fi
}

missing=()
command -v openssl   >/dev/null || missing+=(openssl)
{ command -v pdftotext && command -v pdftoppm; } >/dev/null || missing+=(poppler-utils)
command -v qpdf      >/dev/null || missing+=(qpdf)
command -v python3   >/dev/null || missing+=(python3 python3-pip)
command -v unshare   >/dev/null || missing+=(util-linux)
command -v git       >/dev/null || missing+=(git)
command -v curl      >/dev/null || missing+=(curl)
command -v chromium  >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
command -v zbarimg   >/dev/null || missing+=(zbar-tools)
command -v go        >/dev/null || missing+=(golang-go)
[ -d /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog ] || missing+=(golang-golang-x-mod-dev)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-test-deps: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

pip_install() {
  python3 -m pip install --quiet --disable-pip-version-check "$@" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
}
python3 -c 'import jwcrypto' 2>/dev/null || pip_install jwcrypto
python3 -c 'import cryptography' 2>/dev/null || pip_install cryptography
python3 -c 'import aiosmtpd' 2>/dev/null || pip_install aiosmtpd
echo "install-test-deps: ready"
