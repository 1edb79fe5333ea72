#!/usr/bin/env bash
# Runs the public Engine.IO / Socket.IO protocol test suites against the relay.
#
# The suites (github.com/socketio/engine.io-protocol and
# github.com/socketio/socket.io-protocol, folder test-suite/) are not part of
# this repository: check them out yourself and point these at their
# test-suite/ folders (either or both):
#
#   EIO_SUITE=/path/to/engine.io-protocol/test-suite
#   SIO_SUITE=/path/to/socket.io-protocol/test-suite
#
# SERVER selects what answers on localhost:3000 (the suites hard-code it):
#   serve  (default) `siorelay serve` configured like the suites' reference
#          servers: ping 300ms/200ms, max-http-buffer-size 1e6, CORS *,
#          path /engine.io/ or /socket.io/, connect timeout 1s (socket.io
#          suite only: the engine.io reference server has none),
#          namespaces / and /custom. No application code, so the tests that
#          need the reference servers' echo handlers fail.
#   hooks  `siorelay serve` with the same settings and --hook for / and
#          /custom to scripts/protocol-suites/echo-backend, a BackendService
#          doing what the socket.io suite's reference server does (auth,
#          message-back, message-with-ack). HOOK=grpc (default) or http
#          picks the hook transport. AUTH_DELAY (default 50ms) makes the
#          backend send "auth" that long after Connect, through the relay's
#          EmitterService, instead of in ConnectResponse.emits (AUTH_DELAY=0);
#          see RESULTS.md for why (a race in the suite's client).
#   echo   scripts/protocol-suites/echo: the same settings on relay.NewServer
#          plus the Socket.IO echo hooks, in process.
#
# EIO_APPLICABLE=1 leaves out the 8 engine.io tests that need an Engine.IO
# echo server (message "sends and receives …" and the 3 upgrade tests: they
# send Engine.IO messages that are not Socket.IO packets and expect them
# back, which no Socket.IO server does, Node's included; see RESULTS.md).
#
# Other settings: RUNS (default 1: how many times each suite runs against one
# server start; a line per run gives the pass count and the failing tests),
# SIORELAY_BIN (default: built into .tmp/protocol-suites), LOG_DIR (default
# .tmp/protocol-suites/logs), MOCHA_REPORTER (default spec).
# Exit status: 0 only if every run of every suite that ran passed.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
server=${SERVER:-serve}
out=.tmp/protocol-suites
logs=${LOG_DIR:-$out/logs}
mkdir -p "$out" "$logs"

if [[ -z ${EIO_SUITE:-} && -z ${SIO_SUITE:-} ]]; then
	echo "run.sh: set EIO_SUITE and/or SIO_SUITE to a checked-out test-suite/ folder" >&2
	exit 2
fi
command -v npm >/dev/null || { echo "run.sh: npm not found (Node.js 18+ with npm is needed)" >&2; exit 1; }
command -v curl >/dev/null || { echo "run.sh: curl not found" >&2; exit 1; }

runs=${RUNS:-1}
hook=${HOOK:-grpc}
auth_delay=${AUTH_DELAY:-50ms}
case $server in
serve | hooks)
	bin=${SIORELAY_BIN:-$out/siorelay}
	[[ -n ${SIORELAY_BIN:-} ]] || go build -o "$bin" ./cmd/siorelay
	if [[ $server == hooks ]]; then
		[[ $hook == grpc || $hook == http ]] || { echo "run.sh: HOOK must be grpc or http, not $hook" >&2; exit 2; }
		go build -o "$out/echo-backend" ./scripts/protocol-suites/echo-backend
	fi
	;;
echo)
	bin=$out/echo
	go build -o "$bin" ./scripts/protocol-suites/echo
	;;
*)
	echo "run.sh: SERVER must be serve, hooks or echo, not $server" >&2
	exit 2
	;;
esac

if curl -s -o /dev/null --max-time 1 http://127.0.0.1:3000/; then
	echo "run.sh: something already listens on 127.0.0.1:3000 (the suites need that port)" >&2
	exit 1
fi

pid= backend_pid=
stop_server() {
	local p
	for p in $pid $backend_pid; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	pid= backend_pid=
}
trap stop_server EXIT

# start_backend: starts echo-backend on free ports (its gRPC or HTTP side,
# per HOOK) and sets backend_url.
start_backend() {
	local log=$logs/echo-backend.log args=() grpc_port
	grpc_port=$(free_port)
	relay_grpc=127.0.0.1:$grpc_port
	if [[ $hook == grpc ]]; then args+=(--grpc-addr 127.0.0.1:0); else args+=(--http-addr 127.0.0.1:0); fi
	if [[ $auth_delay != 0 ]]; then args+=(--auth-delay "$auth_delay" --relay-grpc "$relay_grpc"); fi
	"$out/echo-backend" "${args[@]}" >"$log" 2>&1 &
	backend_pid=$!
	for _ in $(seq 100); do
		backend_url=$(sed -n "s/^echo-backend: $hook on \(.*\)$/$hook:\/\/\1/p" "$log")
		if [[ -n $backend_url ]]; then
			[[ $hook == grpc ]] || backend_url=http${backend_url#http}
			return 0
		fi
		kill -0 "$backend_pid" 2>/dev/null || { echo "run.sh: echo-backend exited; see $log" >&2; cat "$log" >&2; exit 1; }
		sleep 0.1
	done
	echo "run.sh: echo-backend did not start within 10s; see $log" >&2
	exit 1
}

free_port() {
	node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

# start_server PATH: starts the server on 127.0.0.1:3000 serving PATH and
# waits until it answers a handshake.
start_server() {
	local path=$1 log=$logs/server-$server-${path//\//}.log extra=()
	[[ $path != /socket.io/ ]] || extra+=(--connect-timeout 1s)
	if [[ $server == hooks ]]; then
		start_backend
		extra+=(--hook "/=$backend_url" --hook "/custom=$backend_url" --grpc-addr "$relay_grpc")
		if [[ $auth_delay == 0 ]]; then
			echo "== echo-backend on $backend_url, auth in ConnectResponse.emits"
		else
			echo "== echo-backend on $backend_url, auth $auth_delay after Connect via the relay's EmitterService"
		fi
	fi
	if [[ $server == serve || $server == hooks ]]; then
		"$bin" serve --addr 127.0.0.1:3000 --path "$path" \
			--ping-interval 300ms --ping-timeout 200ms \
			--max-http-buffer-size 1000000 --cors-origin '*' \
			--namespaces /,/custom --demo=false "${extra[@]}" --log-level debug >"$log" 2>&1 &
	else
		"$bin" --addr 127.0.0.1:3000 --path "$path" --debug >"$log" 2>&1 &
	fi
	pid=$!
	for _ in $(seq 100); do
		if curl -sf -o /dev/null "http://127.0.0.1:3000${path}?EIO=4&transport=polling"; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || { echo "run.sh: server exited; see $log" >&2; cat "$log" >&2; exit 1; }
		sleep 0.1
	done
	echo "run.sh: server did not answer on 127.0.0.1:3000$path within 10s" >&2
	exit 1
}

status=0
# run_suite DIR PATH NAME
run_suite() {
	local dir=$1 path=$2 name=$3
	[[ -f $dir/test-suite.js && -f $dir/package-lock.json ]] || {
		echo "run.sh: $dir is not a protocol test-suite/ folder" >&2
		exit 2
	}
	echo "== $name suite against $server on http://localhost:3000$path"
	start_server "$path"
	(cd "$dir" && npm ci --no-audit --no-fund --silent)
	local i rc txt summary=() tag=$name-$server filter=()
	if [[ $name == engine.io && ${EIO_APPLICABLE:-0} == 1 ]]; then
		filter=(--grep 'sends and receives|Engine\.IO protocol upgrade ' --invert)
		tag+=-applicable
	fi
	[[ $server != hooks ]] || tag+=-$hook-auth$auth_delay
	for ((i = 1; i <= runs; i++)); do
		txt=$logs/$tag.txt
		((runs == 1)) || txt=$logs/$tag-run$i.txt
		set +e
		(cd "$dir" && npm test --silent -- --reporter "${MOCHA_REPORTER:-spec}" "${filter[@]}") >"$txt" 2>&1
		rc=$?
		set -e
		((runs > 1)) || cat "$txt"
		summary+=("$(run_summary "$name" "$i" "$rc" "$txt")")
		echo "${summary[-1]}"
		[[ $rc == 0 ]] || status=1
	done
	stop_server
	if ((runs > 1)); then
		echo "== $name suite, $runs runs against $server (outputs in $logs/$tag-run*.txt):"
		printf '%s\n' "${summary[@]}"
	fi
}

# run_summary NAME RUN RC FILE: one line with the pass/fail counts of a
# mocha spec output and the titles of the failing tests.
run_summary() {
	local pass fail titles
	pass=$(grep -Eo '^ +[0-9]+ passing' "$4" | grep -Eo '[0-9]+' || true)
	fail=$(grep -Eo '^ +[0-9]+ failing' "$4" | grep -Eo '[0-9]+' || true)
	titles=$(sed -n '/passing (/q; s/^ *[0-9][0-9]*) \(.*\)$/\1/p' "$4" | paste -sd ';' -)
	echo "$1 run $2: exit $3, ${pass:-0} passing, ${fail:-0} failing${titles:+: $titles}"
}

[[ -z ${EIO_SUITE:-} ]] || run_suite "$EIO_SUITE" /engine.io/ engine.io
[[ -z ${SIO_SUITE:-} ]] || run_suite "$SIO_SUITE" /socket.io/ socket.io
exit $status
