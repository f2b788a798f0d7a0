#!/usr/bin/env bash
# What the tests need beyond pip, installed where this user can: Debian packages (as root), binfmt for
# ARM64, and the npm packages of the Node.js and browser examples. `make test` and `make system-deps`
# run it. On CI (CI=true) anything missing is an error (a test may not skip there, tests/conftest.py);
# elsewhere it is a warning, the tests that need it skip, and make test's summary names the fix.
set -euo pipefail
cd "$(dirname "$0")/.."

fail_or_warn() {
  if [ "${CI:-}" = "true" ]; then echo "error: $1" >&2; exit 1; fi
  echo "warning: $1; the tests that need it will skip" >&2
}

# Fashion-MNIST (Debian) for the dataset tests; Chromium + ChromeDriver for the browser example; the
# Arm toolchain, newlib and QEMU for the C export's Cortex-M4 tests (examples/mcu); debootstrap and
# qemu-user for the ARM64 checks (tests/arm64: an arm64 Debian root, made once in .arm64/).
need=()
if command -v dpkg >/dev/null; then
  for pkg in dataset-fashion-mnist chromium chromium-driver gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm \
             debootstrap qemu-user-static binfmt-support; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  command -v npm >/dev/null || need+=(nodejs npm)  # any Node.js with npm will do (Debian's or another)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "system-deps: apt-get install ${need[*]}" >&2
    (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null) \
      || fail_or_warn "could not install ${need[*]}"
  else
    fail_or_warn "${need[*]} missing (not root: sudo make system-deps installs them)"
  fi
fi

# ARM64 programs run through binfmt_misc (a container may not have it mounted yet).
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && [ "$(id -u)" = 0 ]; then
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
fi
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || fail_or_warn "no binfmt for qemu-aarch64 (the ARM64 checks need it)"

# onnxruntime-web for the browser example (served from node_modules) and onnxruntime-node for the
# Node.js example (its CPU binaries ship inside the package: no install script needed). Only when the
# lock file changed since the last install (npm ci wipes and refills node_modules).
if command -v npm >/dev/null; then
  for example in browser node; do
    dir="examples/$example"
    [ -f "$dir/package-lock.json" ] || continue
    stamp="$dir/node_modules/.gantool-installed"
    if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
      (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch node_modules/.gantool-installed) \
        || fail_or_warn "npm ci failed in $dir"
    fi
  done
else
  fail_or_warn "npm is missing (Debian's npm)"
fi
