#!/usr/bin/env bash
# Makes a THROWAWAY certificate authority and certificates for trying the
# TLS cluster in this folder (n1.conf, n2.conf, n3.conf): not for production,
# where certificates come from your own CA (or cert-manager on Kubernetes).
#
#   deploy/nats/make-certs.sh [OUT] [EXTRA_SAN...]     (OUT defaults to deploy/nats/certs)
#
# writes, with openssl and ECDSA P-256 keys valid for 30 days:
#   OUT/ca.pem, OUT/ca-key.pem                       the CA (keep the key away from the nodes)
#   OUT/n1/{ca.pem,server.pem,server-key.pem} ...    one per node; install as /etc/nats/certs/
#   OUT/client/{ca.pem,client.pem,client-key.pem}    a client certificate (heatbath --tls-cert/--tls-key)
# Node certificates name n1..n3, localhost, 127.0.0.1 and each EXTRA_SAN
# (e.g. DNS:n1.example.org or IP:10.0.0.5), and serve both server and
# client authentication, as cluster routes authenticate each other.
set -euo pipefail
out=${1:-$(dirname "$0")/certs}
shift || true
days=30
mkdir -p "$out"
umask 077

openssl ecparam -name prime256v1 -genkey -noout -out "$out/ca-key.pem"
openssl req -x509 -new -key "$out/ca-key.pem" -sha256 -days "$days" -subj "/CN=heatbath throwaway CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$out/ca.pem"

# issue NAME DIR BASENAME EKU SAN
issue() {
  local name=$1 dir=$2 base=$3 eku=$4 san=$5
  mkdir -p "$dir"
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$base-key.pem"
  openssl req -new -key "$dir/$base-key.pem" -subj "/CN=$name" -out "$dir/$base.csr"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=%s\n' \
    "$eku" "$san" > "$dir/$base.ext"
  openssl x509 -req -in "$dir/$base.csr" -CA "$out/ca.pem" -CAkey "$out/ca-key.pem" -CAcreateserial \
    -days "$days" -sha256 -extfile "$dir/$base.ext" -out "$dir/$base.pem" 2>/dev/null
  rm -f "$dir/$base.csr" "$dir/$base.ext"
  cp "$out/ca.pem" "$dir/ca.pem"
}

extra=""
for s in "$@"; do extra="$extra,$s"; done
for n in n1 n2 n3; do
  issue "$n" "$out/$n" server serverAuth,clientAuth "DNS:$n,DNS:localhost,IP:127.0.0.1$extra"
done
issue heatbath-client "$out/client" client clientAuth "DNS:heatbath-client"
rm -f "$out/ca.srl"
# The nats image runs as root and heatbath's as nonroot: let both read.
chmod 0755 "$out" "$out"/n? "$out/client"
chmod 0644 "$out"/*/*.pem
echo "certificates in $out (CA key: $out/ca-key.pem)"
