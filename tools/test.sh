#!/usr/bin/env bash
# Installs what is missing, then builds and runs the whole test suite three times (Release,
# ASan+UBSan, TSan), warnings as errors, then the Windows build (MinGW-w64) with its tests under
# Wine, then the libFuzzer targets (clang, ASan+UBSan): the kept corpus once, then 60 s of
# exploration. Pass preset names to run only those (e.g. `bash tools/test.sh windows`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
presets=("$@")
if [ ${#presets[@]} -eq 0 ]; then presets=(release asan tsan windows fuzz); fi
jobs=$(nproc)
# Segments of test processes killed from outside (SIGKILL, the OOM killer, which no cleanup
# survives): "ipcring-test-<pid>-..." whose process is gone.
for f in /dev/shm/ipcring-test-*; do
  [ -e "$f" ] || continue
  pid=${f#/dev/shm/ipcring-test-}
  pid=${pid%%-*}
  if [[ $pid =~ ^[0-9]+$ ]] && [ ! -d "/proc/$pid" ]; then rm -f -- "$f"; fi
done
# The C API test's and the tool's unit test's: "ipcring-ctest-<what>-<pid>",
# "ipcring-cli-unit-<what>-<pid>".
for f in /dev/shm/ipcring-ctest-* /dev/shm/ipcring-cli-unit-*; do
  [ -e "$f" ] || continue
  pid=${f##*-}
  if [[ $pid =~ ^[0-9]+$ ]] && [ ! -d "/proc/$pid" ]; then rm -f -- "$f"; fi
done
# A preset that fails does not stop the others (a failure only Windows or the fuzzer sees is
# then not hidden behind one of the Linux builds'): each says how it ended, and the script fails
# at the end if any did.
failed=()
for preset in "${presets[@]}"; do
  echo "=== $preset: configure, build, test"
  start=$(date +%s)
  # One test at a time: the IPC tests pin and spin two processes on what may be two cores.
  if cmake --preset "$preset" -DIPCRING_WARNINGS_AS_ERRORS=ON >/dev/null &&
    cmake --build --preset "$preset" -j"$jobs" &&
    ctest --preset "$preset" -j1; then
    echo "=== $preset: passed in $(( $(date +%s) - start )) s"
  else
    echo "=== $preset: FAILED after $(( $(date +%s) - start )) s"
    failed+=("$preset")
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "=== FAILED: ${failed[*]} (of ${presets[*]})"
  exit 1
fi
echo "=== all passed: ${presets[*]}"
