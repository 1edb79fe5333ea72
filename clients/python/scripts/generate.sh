#!/usr/bin/env bash
# Regenerates the committed Python stubs (src/siorelay/v1/*_pb2*.py{,i}: the
# EmitterService client and the BackendService that backends implement)
# from the repo's proto/ with the pinned grpcio-tools.
#
#   scripts/generate.sh           write the stubs
#   scripts/generate.sh --check   exit 1 if the committed stubs are stale
#
# PYTHON selects the interpreter (default: python3); it must have
# grpcio-tools==$GRPCIO_TOOLS_VERSION (pip install -e 'clients/python[test]').
set -euo pipefail

GRPCIO_TOOLS_VERSION=1.85.1
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkg="$(dirname "$here")"
root="$(cd "$pkg/../.." && pwd)"
PYTHON="${PYTHON:-python3}"

have="$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("grpcio-tools"))' 2>/dev/null || true)"
if [[ "$have" != "$GRPCIO_TOOLS_VERSION" ]]; then
  echo "generate.sh: need grpcio-tools==$GRPCIO_TOOLS_VERSION in $PYTHON (have '${have:-none}'):" >&2
  echo "  $PYTHON -m pip install grpcio-tools==$GRPCIO_TOOLS_VERSION" >&2
  exit 2
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
(cd "$root/proto" && "$PYTHON" -m grpc_tools.protoc -I . \
  --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
  siorelay/v1/*.proto)

dst="$pkg/src/siorelay/v1"
if [[ "${1:-}" == "--check" ]]; then
  stale=0
  for f in "$out"/siorelay/v1/*; do
    name="$(basename "$f")"
    if ! cmp -s "$f" "$dst/$name"; then
      echo "clients/python/src/siorelay/v1/$name is stale: run clients/python/scripts/generate.sh" >&2
      stale=1
    fi
  done
  exit "$stale"
fi
mkdir -p "$dst"
cp "$out"/siorelay/v1/* "$dst/"
echo "generated $(cd "$out/siorelay/v1" && ls | tr '\n' ' ')"
