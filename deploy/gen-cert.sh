#!/usr/bin/env bash
# A self-signed TLS certificate for the compose stack's nginx (and for the topology test, which
# runs the same nginx.conf): deploy/gen-cert.sh [output-dir], default deploy/certs/ (git-ignored).
# Writes tls.crt and tls.key, valid for localhost, the stand-ins' names (xt.localhost,
# ciam.localhost) and 127.0.0.1. It keeps an existing pair; FORCE=1 makes a new one.
# Production: use a real certificate (Let's Encrypt, your CA) in place of these two files.
set -euo pipefail
out="${1:-$(dirname "$0")/certs}"
mkdir -p "$out"
if [ -s "$out/tls.crt" ] && [ -s "$out/tls.key" ] && [ "${FORCE:-0}" != 1 ]; then
  echo "gen-cert: $out/tls.crt exists (FORCE=1 replaces it)"
  exit 0
fi
command -v openssl >/dev/null || { echo "gen-cert: openssl is needed (apt-get install -y openssl)" >&2; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 825 \
  -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,DNS:xt.localhost,DNS:ciam.localhost,IP:127.0.0.1,IP:::1" \
  -addext "keyUsage=critical,digitalSignature,keyCertSign" \
  -addext "extendedKeyUsage=serverAuth" \
  -keyout "$out/tls.key" -out "$out/tls.crt" 2>/dev/null
# The replicas read tls.crt as a CA (NODE_EXTRA_CA_CERTS) as a non-root user; the key stays private
# to nginx's master process (root in its container).
chmod 644 "$out/tls.crt"
chmod 600 "$out/tls.key"
echo "gen-cert: wrote $out/tls.crt and $out/tls.key (self-signed, 825 days)"
