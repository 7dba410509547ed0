# Nightjar — see README.md.
.PHONY: demo test build bench fuzz

# The main job: a simulated fleet streaming to the collector, and the
# dashboard at http://127.0.0.1:8080/ (Ctrl-C stops it).
demo:
	go run ./cmd/nightjar demo

# The whole test suite (installs tshark & co. first if missing).
test:
	scripts/test.sh

build:
	go build -o bin/ ./cmd/...

# The comparison benchmark of issue #2 (writes its figures to stdout).
bench:
	scripts/bench-analyze.sh
