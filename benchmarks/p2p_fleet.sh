#!/usr/bin/env bash
# Peer-to-peer fleet pull: N nodes pull one image at the same moment, first straight from the
# registry, then through `dockyard p2p agent` (libtorrent swarm, the registry as web seed).
#   - a Linux bridge and N network namespaces on veth pairs, every veth limited to RATE_MBIT
#     each way with tc (tbf), and the bridge's own port (the registry's and the tracker's
#     uplink) limited to RATE_MBIT as well: the registry is one node among the fleet
#   - opentracker (Debian's, whitelist mode: the image's torrents are listed) and an htpasswd
#     registry (`dockyard registry serve`, metrics on its debug address) on the bridge
#   - direct: N pullers (benchmarks use tests/_infra/p2p_fetch.py, stdlib urllib, every digest
#     checked) against the registry with Basic auth; p2p: one agent per namespace, the same
#     pullers against 127.0.0.1:5050 in their namespaces; then a second image with KILL agents
#     SIGKILLed mid-transfer
#   - wall time of the whole fleet with /usr/bin/time, registry blob bytes from
#     dockyard_http_response_bytes_total{route="blob"}
# Needs root, iproute2 (ip, tc), opentracker, /usr/bin/time. Everything is torn down on exit.
# Usage: [AGENTS=8] [SIZE_MB=200] [RATE_MBIT=20] [KILL=2] benchmarks/p2p_fleet.sh
set -euo pipefail
cd "$(dirname "$0")/.."
AGENTS=${AGENTS:-8}
SIZE_MB=${SIZE_MB:-200}
RATE_MBIT=${RATE_MBIT:-20}
KILL=${KILL:-2}
DOCKYARD=${DOCKYARD:-$PWD/.venv/bin/dockyard}
PYTHON=${PYTHON:-$PWD/.venv/bin/python}
FETCH=$PWD/tests/_infra/p2p_fetch.py
TAG=dyb$$
NET=10.232.$(($$ % 250))
BR=${TAG}br
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dy-p2pbench-XXXXXX")
chmod 755 "$WORK"
USER=bench PASS=bench-secret

cleanup() {
  set +e  # a process that already exited must not end the cleanup
  for f in "$WORK"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  wait 2>/dev/null
  for i in $(seq 0 $((AGENTS - 1))); do ip netns del "${TAG}n$i" 2>/dev/null || true; done
  ip link del "$BR" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

limit() { echo root tbf rate "${RATE_MBIT}mbit" burst 64kb latency 100ms; }
ip link add "$BR" type bridge
ip link set "$BR" type bridge nf_call_iptables 0 2>/dev/null || true
ip addr add "$NET.1/24" dev "$BR"
ip link set "$BR" up
tc qdisc add dev "$BR" $(limit)
for i in $(seq 0 $((AGENTS - 1))); do
  ns=${TAG}n$i
  ip netns add "$ns"
  ip link add "${TAG}h$i" type veth peer name "${TAG}v$i"
  ip link set "${TAG}v$i" netns "$ns"
  ip link set "${TAG}h$i" master "$BR" up
  ip -n "$ns" addr add "$NET.$((i + 2))/24" dev "${TAG}v$i"
  ip -n "$ns" link set "${TAG}v$i" up
  ip -n "$ns" link set lo up
  tc qdisc add dev "${TAG}h$i" $(limit)
  ip netns exec "$ns" tc qdisc add dev "${TAG}v$i" $(limit)
done

: >"$WORK/whitelist.txt"
chmod 644 "$WORK/whitelist.txt"
/usr/bin/opentracker -i "$NET.1" -p 6969 -P 6969 -d "$WORK" -u nobody -w whitelist.txt \
  >"$WORK/opentracker.log" 2>&1 &
echo $! >"$WORK/tracker.pid"
"$PYTHON" -c "from dockyard.registry.auth import htpasswd_line; print(htpasswd_line('$USER', '$PASS', cost=4))" \
  >"$WORK/htpasswd"
REGISTRY=http://$NET.1:5000
REGISTRY_AUTH=htpasswd REGISTRY_AUTH_HTPASSWD_REALM=bench REGISTRY_AUTH_HTPASSWD_PATH=$WORK/htpasswd \
REGISTRY_P2P_TRACKERS=http://$NET.1:6969/announce REGISTRY_HTTP_DEBUG_ADDR=$NET.1:5001 \
REGISTRY_LOG_ACCESSLOG_DISABLED=true \
  "$DOCKYARD" registry serve --root "$WORK/registry" --addr "$NET.1:5000" >"$WORK/registry.log" 2>&1 &
echo $! >"$WORK/registry.pid"
for _ in $(seq 100); do curl -fs -o /dev/null -u "$USER:$PASS" "$REGISTRY/v2/" && break; sleep 0.1; done

# push an image of 4 random layers (SIZE_MB in all, sizes not piece-aligned), list its torrents
push() { # name seed
  "$PYTHON" - "$REGISTRY" "$1" "$2" "$SIZE_MB" "$USER:$PASS" "$WORK/whitelist.txt" <<'PY'
import hashlib, json, os, sys, httpx
from dockyard.p2p import bdecode, bencode
url, name, seed, size_mb, auth, whitelist = sys.argv[1:7]
user, password = auth.split(":", 1)
http = httpx.Client(base_url=url, auth=(user, password), timeout=600)
total = int(size_mb) << 20
layers = [os.urandom(total // 4 + 1000 * i + 1) for i in range(4)]
config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
def digest(b): return "sha256:" + hashlib.sha256(b).hexdigest()
for blob in (config, *layers):
    r = http.post(f"/v2/{name}/blobs/uploads/")
    r = http.put(r.headers["location"], params={"digest": digest(blob)}, content=blob)
    assert r.status_code == 201, r.text
desc = lambda b, t: {"mediaType": t, "digest": digest(b), "size": len(b)}
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": desc(config, "application/vnd.oci.image.config.v1+json"),
            "layers": [desc(l, "application/vnd.oci.image.layer.v1.tar") for l in layers]}
r = http.put(f"/v2/{name}/manifests/v1", content=json.dumps(manifest),
             headers={"content-type": manifest["mediaType"]})
assert r.status_code == 201, r.text
with open(whitelist, "a") as f:
    for layer in layers:
        meta = bdecode(http.get(f"/v2/{name}/_dockyard/torrent/{digest(layer)}").content)
        f.write(hashlib.sha256(bencode(meta[b"info"])).hexdigest()[:40] + "\n")
print(sum(len(b) for b in (config, *layers)))
PY
  kill -HUP "$(cat "$WORK/tracker.pid")"
}
served() { curl -fs "http://$NET.1:5001/metrics" | awk '/^dockyard_http_response_bytes_total\{route="blob"\}/ {print $2; f = 1} END {if (!f) print 0}'; }

# one puller per namespace at once; the fleet's wall time (/usr/bin/time) and the registry's bytes
fleet_pull() { # label base-url name auth [kill]
  local label=$1 base=$2 name=$3 auth=$4 kill=${5:-0} before after
  before=$(served)
  /usr/bin/time -f "%e" -o "$WORK/$label.time" bash -c '
    for i in $(seq 0 $(('"$AGENTS"' - 1))); do
      P2P_FETCH_AUTH='"$auth"' ip netns exec '"$TAG"'n$i '"$PYTHON $FETCH"' '"$base"' '"$name"' v1 \
        >'"$WORK"'/'"$label"'.$i.json 2>'"$WORK"'/'"$label"'.$i.err &
      echo $! >'"$WORK"'/'"$label"'.$i.pull
    done
    wait' &
  local timer=$!
  if [ "$kill" -gt 0 ]; then
    sleep $((SIZE_MB * 8 / RATE_MBIT / 4 + 2))  # about a third of the way
    for i in $(seq 0 $((kill - 1))); do
      kill -9 "$(cat "$WORK/agent$i.pid")" 2>/dev/null || true
      kill "$(cat "$WORK/$label.$i.pull")" 2>/dev/null || true
    done
  fi
  wait $timer || true
  after=$(served)
  local ok=0
  for i in $(seq "$kill" $((AGENTS - 1))); do
    grep -q '"bad": \[\]' "$WORK/$label.$i.json" 2>/dev/null && ok=$((ok + 1))
  done
  echo "$label $(cat "$WORK/$label.time") $((${after%.*} - ${before%.*})) $ok"
}

SIZE=$(push team/direct direct)
read -r _ T_DIRECT B_DIRECT OK_DIRECT < <(fleet_pull direct "$REGISTRY" team/direct "$USER:$PASS")

for i in $(seq 0 $((AGENTS - 1))); do
  echo "$PASS" | ip netns exec "${TAG}n$i" "$DOCKYARD" p2p agent --registry "$REGISTRY" \
    --listen 0.0.0.0:5050 --peer-listen "$NET.$((i + 2)):6881" --data "$WORK/agent$i" \
    --username "$USER" --password-stdin >"$WORK/agent$i.log" 2>&1 &
  echo $! >"$WORK/agent$i.pid"
done
for i in $(seq 0 $((AGENTS - 1))); do
  for _ in $(seq 100); do curl -fs -o /dev/null "http://$NET.$((i + 2)):5050/v2/" && break; sleep 0.1; done
done
push team/p2p p2p >/dev/null
read -r _ T_P2P B_P2P OK_P2P < <(fleet_pull p2p http://127.0.0.1:5050 team/p2p "")
push team/kill kill >/dev/null
read -r _ T_KILL B_KILL OK_KILL < <(fleet_pull kill http://127.0.0.1:5050 team/kill "" "$KILL")

ratio() { "$PYTHON" -c "print(f'{$1 / $2:.2f}')"; }
cat <<TABLE
$AGENTS nodes, image $((SIZE / 1048576)) MiB, every link ${RATE_MBIT} Mbit/s (the registry's too)

| run | fleet wall time | registry blob bytes | × image | nodes verified |
|---|---|---|---|---|
| direct: $AGENTS pulls from the registry | ${T_DIRECT} s | $B_DIRECT | $(ratio "$B_DIRECT" "$SIZE") | $OK_DIRECT / $AGENTS |
| p2p: $AGENTS agents | ${T_P2P} s ($(ratio "$T_P2P" "$T_DIRECT")× direct) | $B_P2P | $(ratio "$B_P2P" "$SIZE") | $OK_P2P / $AGENTS |
| p2p, $KILL agents SIGKILLed mid-transfer | ${T_KILL} s | $B_KILL | $(ratio "$B_KILL" "$SIZE") | $OK_KILL / $((AGENTS - KILL)) |
TABLE
