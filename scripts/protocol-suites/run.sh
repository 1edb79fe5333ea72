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
#          path /engine.io/ or /socket.io/, connect timeout 1s,
#          namespaces / and /custom. No application code, so the tests that
#          need the reference servers' echo handlers fail.
#   echo   scripts/protocol-suites/echo: the same settings on relay.NewServer
#          plus the Socket.IO echo hooks (auth, message-back, message-with-ack).
#
# Other settings: SIORELAY_BIN (default: built into .tmp/protocol-suites),
# LOG_DIR (default .tmp/protocol-suites/logs), MOCHA_REPORTER (default spec).
# Exit status: 0 only if every suite that ran passed.
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

case $server in
serve)
	bin=${SIORELAY_BIN:-$out/siorelay}
	[[ -n ${SIORELAY_BIN:-} ]] || go build -o "$bin" ./cmd/siorelay
	;;
echo)
	bin=$out/echo
	go build -o "$bin" ./scripts/protocol-suites/echo
	;;
*)
	echo "run.sh: SERVER must be serve or echo, not $server" >&2
	exit 2
	;;
esac

if curl -s -o /dev/null --max-time 1 http://127.0.0.1:3000/; then
	echo "run.sh: something already listens on 127.0.0.1:3000 (the suites need that port)" >&2
	exit 1
fi

pid=
stop_server() {
	if [[ -n $pid ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=
	fi
}
trap stop_server EXIT

# start_server PATH: starts the server on 127.0.0.1:3000 serving PATH and
# waits until it answers a handshake.
start_server() {
	local path=$1 log=$logs/server-$server-${path//\//}.log
	if [[ $server == serve ]]; then
		"$bin" serve --addr 127.0.0.1:3000 --path "$path" \
			--ping-interval 300ms --ping-timeout 200ms --connect-timeout 1s \
			--max-http-buffer-size 1000000 --cors-origin '*' \
			--namespaces /,/custom --log-level debug >"$log" 2>&1 &
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
	set +e
	(cd "$dir" && npm test --silent -- --reporter "${MOCHA_REPORTER:-spec}") 2>&1 | tee "$logs/$name-$server.txt"
	local rc=${PIPESTATUS[0]}
	set -e
	stop_server
	echo "== $name suite: exit status $rc (output in $logs/$name-$server.txt)"
	[[ $rc == 0 ]] || status=1
}

[[ -z ${EIO_SUITE:-} ]] || run_suite "$EIO_SUITE" /engine.io/ engine.io
[[ -z ${SIO_SUITE:-} ]] || run_suite "$SIO_SUITE" /socket.io/ socket.io
exit $status
