#!/usr/bin/env bash
# Differential check: the same raw exchanges (cases.mjs) against Node's
# socket.io 4.8.4 with the socket.io-protocol suite's reference handlers
# (reference-server.cjs) and against the relay with the same hooks
# (../echo), then a diff of the two outputs. Needs clients/compat's
# node_modules (make deps-compat). Prints the diff; exit status 1 if the
# outputs differ. Ports: NODE_PORT (3101), RELAY_PORT (3102). RECOVERY=1
# runs both servers with connection state recovery, normalizes pids and
# offsets, and adds the recovery cases.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=$root/.tmp/protocol-suites/differential
mkdir -p "$out"
[[ -d $root/clients/compat/node_modules/socket.io ]] || { echo "run.sh: clients/compat/node_modules missing: make deps-compat" >&2; exit 1; }
(cd "$root" && go build -o "$out/echo" ./scripts/protocol-suites/echo)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
node "$here/reference-server.cjs" "${NODE_PORT:-3101}" >"$out/node-server.log" 2>&1 & pids+=($!)
recovery=()
[[ ${RECOVERY:-} == 1 ]] && recovery=(--recovery 60s)
"$out/echo" --addr "127.0.0.1:${RELAY_PORT:-3102}" "${recovery[@]}" >"$out/relay-server.log" 2>&1 & pids+=($!)
for port in "${NODE_PORT:-3101}" "${RELAY_PORT:-3102}"; do
	for _ in $(seq 100); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/socket.io/?EIO=4&transport=polling" && break
		sleep 0.1
	done
done
node "$here/cases.mjs" "${NODE_PORT:-3101}" >"$out/node.txt"
node "$here/cases.mjs" "${RELAY_PORT:-3102}" >"$out/relay.txt"
echo "== cases: $(wc -l <"$out/node.txt"); outputs in $out (node.txt, relay.txt)"
diff -u --label node "$out/node.txt" --label relay "$out/relay.txt"
