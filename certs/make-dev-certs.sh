#!/usr/bin/env bash
# Makes a development CA and a server certificate with openssl, for brokers started with
# --cert/--key or for other tools. `tandem serve` without TLS flags does the same by itself
# (with swift-certificates) under ./tandem-data/certs/.
#
# usage: certs/make-dev-certs.sh [OUT_DIR] [HOSTNAME...]
#   OUT_DIR defaults to certs/out; names default to localhost 127.0.0.1 ::1.
set -euo pipefail
out=${1:-"$(dirname "$0")/out"}
shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(localhost 127.0.0.1 ::1)
command -v openssl >/dev/null || { echo "openssl is required (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$out"
umask 077

san=""
for name in "${names[@]}"; do
  if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then san+="IP:$name,"; else san+="DNS:$name,"; fi
done
san=${san%,}

if [ ! -f "$out/ca.pem" ] || [ ! -f "$out/ca.key.pem" ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out "$out/ca.key.pem"
  openssl req -x509 -new -key "$out/ca.key.pem" -sha256 -days 1825 -subj "/O=Tandem development/CN=Tandem Dev CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$out/ca.pem"
fi

openssl ecparam -name prime256v1 -genkey -noout -out "$out/server.key.pem"
openssl req -new -key "$out/server.key.pem" -subj "/O=Tandem development/CN=${names[0]}" -out "$out/server.csr"
cat > "$out/server.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san
EXT
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key.pem" -CAcreateserial \
  -days 397 -sha256 -extfile "$out/server.ext" -out "$out/server.crt.pem" 2>/dev/null
cat "$out/server.crt.pem" "$out/ca.pem" > "$out/server.pem"
rm -f "$out/server.csr" "$out/server.ext" "$out/server.crt.pem" "$out/ca.srl"
chmod 644 "$out/ca.pem" "$out/server.pem"

echo "CA:          $out/ca.pem"
echo "certificate: $out/server.pem  (chain: server, CA)"
echo "key:         $out/server.key.pem"
openssl x509 -in "$out/server.pem" -noout -fingerprint -sha256
echo "run: swift run tandem serve --cert $out/server.pem --key $out/server.key.pem"
echo "clients: --ca $out/ca.pem"
