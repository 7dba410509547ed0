# Nightjar — see README.md.
.PHONY: demo test build bench fuzz sensor

# duckdb_arrow selects the embedded store's Arrow write path (about twice
# as fast); a build without it works, slower.
TAGS := duckdb_arrow

# The main job: a simulated fleet streaming to the collector, and the
# dashboard at http://127.0.0.1:8080/ (Ctrl-C stops it).
demo:
	go run -tags $(TAGS) ./cmd/nightjar demo

# The whole test suite (installs tshark & co. first if missing).
test:
	scripts/test.sh

build:
	go build -tags $(TAGS) -o bin/ ./cmd/...

# The sensor as small static binaries (pure Go, stripped) for linux/amd64,
# linux/arm64 and linux/arm (ARMv7), into dist/.
sensor:
	for arch in amd64 arm64 arm; do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch GOARM=7 go build -trimpath -ldflags='-s -w' \
			-o dist/nightjar-sensor-linux-$$arch$$([ $$arch = arm ] && echo v7) ./cmd/nightjar-sensor || exit 1; \
	done

# The comparison benchmark of issue #2 (writes its figures to stdout).
bench:
	scripts/bench-analyze.sh
