#!/usr/bin/env bash
# Generates the Go code of the protobuf protocols in proto/ into internal/wire
# with pinned generators. The generated code is committed; `gen.sh --check`
# regenerates into a temporary directory and fails if the committed code
# differs (the test suite runs it).
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOC_GEN_GO=google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_CONNECT=connectrpc.com/connect/cmd/protoc-gen-connect-go@v1.21.1

command -v protoc >/dev/null || { echo "gen: protoc missing (scripts/deps.sh installs protobuf-compiler)" >&2; exit 1; }
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOBIN=$bin go install "$PROTOC_GEN_GO"
GOBIN=$bin go install "$PROTOC_GEN_CONNECT"

out=.
[ "${1:-}" = --check ] && out=$bin/out && mkdir -p "$out"
PATH=$bin:$PATH protoc -I proto \
  --go_out="$out" --go_opt=module=github.com/nightjar-telescope/nightjar \
  --connect-go_out="$out" --connect-go_opt=module=github.com/nightjar-telescope/nightjar \
  $(cd proto && find nightjar -name "*.proto" | sort)

if [ "${1:-}" = --check ]; then
  stale=0
  for f in $(cd "$out" && find . -type f -name '*.go'); do
    cmp -s "$out/$f" "$f" || { echo "gen: $f is stale" >&2; stale=1; }
  done
  [ $stale -eq 0 ] || { echo "gen: run scripts/gen.sh" >&2; exit 1; }
fi
