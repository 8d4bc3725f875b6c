#!/usr/bin/env bash
# A 3-node JetStream cluster on loopback, for trying Heatbath's cluster mode
# on one machine: builds nats-server 2.15.2 from the Go module proxy (Debian's
# 2.9 is too old), writes three configs (no TLS, no credentials: deploy/nats/
# has the secured ones) and
# starts the nodes on client ports 14221-14223. Stop with: pkill -f 'nats-server -c'
#
#   deploy/local-cluster.sh /tmp/hbcluster
#   heatbath worker --nats nats://127.0.0.1:14221,nats://127.0.0.1:14222 &
#   heatbath submit examples/quick.yaml --nats nats://127.0.0.1:14221 --stream-replicas 3
set -euo pipefail
dir=${1:-/tmp/hbcluster}
mkdir -p "$dir/bin"
GOBIN="$dir/bin" go install github.com/nats-io/nats-server/v2@v2.15.2
for i in 1 2 3; do
  cat > "$dir/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$((14220 + i))
http_port: $((18220 + i))
jetstream { store_dir: "$dir/data$i", sync_interval: always }
cluster {
  name: heatbath
  listen: 127.0.0.1:$((16220 + i))
  routes: [ nats-route://127.0.0.1:16221, nats-route://127.0.0.1:16222, nats-route://127.0.0.1:16223 ]
}
CONF
  "$dir/bin/nats-server" -c "$dir/n$i.conf" > "$dir/n$i.log" 2>&1 &
done
for i in 1 2 3; do
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$((18220 + i))/healthz?js-enabled-only=true" >/dev/null && break
    sleep 0.2
  done
done
echo "cluster up: nats://127.0.0.1:14221,nats://127.0.0.1:14222,nats://127.0.0.1:14223 (logs in $dir)"
