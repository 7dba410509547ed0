#!/usr/bin/env bash
# Installs the system tools the test suite and benchmarks use as oracles and
# peers: tshark (decoder oracle), tcpdump and libtrace-tools (benchmark peers),
# zstd, protoc (generated-code check), and for the sensor's end-to-end tests
# tcpreplay, zmap, masscan, nmap, hping3, iproute2, and for the dashboard's
# browser tests chromium and chromium-driver, and for the reports' Japanese
# charts fonts-ipafont-gothic. Idempotent: installs only
# what is missing. Needs root (or sudo) and
# Debian's package archive.
set -euo pipefail

need=()
command -v tshark >/dev/null || need+=(tshark)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v tracestats >/dev/null || need+=(libtrace-tools)
command -v zstd >/dev/null || need+=(zstd)
command -v protoc >/dev/null || need+=(protobuf-compiler)
# The sensor's end-to-end tests: replay, real scanners, namespaces.
command -v tcpreplay >/dev/null || need+=(tcpreplay)
command -v zmap >/dev/null || need+=(zmap)
command -v masscan >/dev/null || need+=(masscan)
command -v nmap >/dev/null || need+=(nmap)
command -v hping3 >/dev/null || need+=(hping3)
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
# The web dashboard's end-to-end tests: a real headless browser.
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
# The reports: a Japanese font for the charts of `nightjar report --lang ja`
# (and for Chromium's PDF of them).
[ -e /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ] || need+=(fonts-ipafont-gothic)
[ ${#need[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo=sudo; else
    echo "deps: need root to install: ${need[*]}" >&2; exit 1
  fi
fi
echo "deps: installing ${need[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
