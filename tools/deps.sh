#!/usr/bin/env bash
# Installs the Debian packages ipcring needs to build, test and benchmark, if missing.
# Needs root (or sudo) only when something is missing.
set -euo pipefail
packages=(cmake make g++ clang libclang-rt-14-dev llvm libboost-dev libgtest-dev libbenchmark-dev
          pkg-config python3 libcli11-dev gnuplot-nox procps util-linux
          g++-mingw-w64-x86-64-posix googletest wine wine64)  # the Windows build, run under Wine
missing=()
for p in "${packages[@]}"; do
  # The state alone: a held package reads "hold ok installed" in ${Status}.
  dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
# Set through env: sudo resets the environment, so an exported variable would not reach apt-get.
# A new machine's own apt (apt-daily, unattended-upgrades) may hold the locks for minutes after
# boot: the install waits for dpkg's (DPkg::Lock::Timeout); the update, whose lists lock that
# option may not cover, is tried again for up to 10 minutes, rather than failing at once.
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
for attempt in $(seq 20); do
  if "${apt[@]}" update -qq; then break; fi
  if [ "$attempt" -eq 20 ]; then echo "deps: apt-get update failed 20 times" >&2; exit 1; fi
  echo "deps: apt-get update failed (attempt $attempt of 20); trying again in 30 s" >&2
  sleep 30
done
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
