# Nightjar — see README.md.
.PHONY: demo test build bench fuzz

# The main job until the dashboard exists: simulate a fleet and analyse it.
demo:
	go run ./cmd/nightjar analyze --simulate

# The whole test suite (installs tshark & co. first if missing).
test:
	scripts/test.sh

build:
	go build -o bin/ ./cmd/...

# The comparison benchmark of issue #2 (writes its figures to stdout).
bench:
	scripts/bench-analyze.sh
