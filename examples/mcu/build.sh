#!/bin/sh
# The firmware build behind examples/mcu/Makefile: `sh build.sh all|run|size|check|check-run|generated|clean`.
# Its settings come from the environment (the Makefile exports them as they were typed), and every
# one is used quoted, so a folder name holding spaces, `...`, $(...) or ; is a path, never a command.
#   GEN    folder with gantool_generator.c/.h (default: generated, the bundled nano model)
#   BUILD  build folder (default: build); CHECK: folder with the tests' seeds.h (default: BUILD/check)
#   SEED, LABEL  the digit `run` draws (integers)
# The generator is compiled into BUILD/model-HASH (HASH: its two files' SHA-256), so a build for one
# model is never reused for another, and switching back needs no rebuild.
set -eu

GEN=${GEN:-generated}
BUILD=${BUILD:-build}
CHECK=${CHECK:-$BUILD/check}
SEED=${SEED:-7}
LABEL=${LABEL:-3}
PYTHON=${PYTHON:-python3}

CC=arm-none-eabi-gcc
ARCH="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
CFLAGS="$ARCH -std=c99 -O2 -ffp-contract=off -ffunction-sections -fdata-sections -fstack-usage -Wall -Wextra"
LDFLAGS="$ARCH -T mps2_an386.ld -nostartfiles --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections"

die() { echo "error: $*" >&2; exit 2; }

integer() {  # NAME VALUE: a decimal integer (optionally negative), or one line and exit 2
    case $2 in
        ''|-|*[!0-9-]*|?*-*) die "$1 must be an integer, got '$2' (e.g. make run $1=7)" ;;
    esac
}

need() {
    command -v "$1" >/dev/null 2>&1 || die "$1 not found: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"
}

generator_object() {  # compile GEN's pair once per model; prints the object's path
    [ -f "$GEN/gantool_generator.c" ] && [ -f "$GEN/gantool_generator.h" ] \
        || die "no gantool_generator.c and .h in GEN='$GEN': export with gantool export RUN --c --out DIR, then GEN=DIR"
    hash=$(cat "$GEN/gantool_generator.c" "$GEN/gantool_generator.h" | sha256sum | cut -c1-16)
    dir="$BUILD/model-$hash"
    if [ ! -f "$dir/gantool_generator.o" ]; then  # built aside, then renamed in whole: never half a build
        tmp="$BUILD/.model-$hash.$$"
        rm -rf -- "$tmp" "$dir"
        mkdir -p "$tmp/src"
        cp -- "$GEN/gantool_generator.c" "$GEN/gantool_generator.h" "$tmp/src/"
        # shellcheck disable=SC2086  # the flags are ours, split on purpose
        (cd "$tmp" && $CC $CFLAGS -c src/gantool_generator.c -o gantool_generator.o) >&2 || { rm -rf -- "$tmp"; exit 1; }
        mv -T -- "$tmp" "$dir" 2>/dev/null || rm -rf -- "$tmp"  # a parallel build got there first
    fi
    echo "$dir"
}

compile() {  # SOURCE OBJECT [EXTRA FLAGS...]: the board files, with the model's header in reach
    src=$1 obj=$2
    shift 2
    # shellcheck disable=SC2086
    $CC $CFLAGS -I. -I"$model/src" "$@" -c "$src" -o "$obj"
}

link() {  # ELF OBJECTS...
    elf=$1
    shift
    # shellcheck disable=SC2086
    $CC $LDFLAGS "$@" -lm -o "$elf"
}

firmware() {  # BUILD/firmware.elf: main.c for SEED and LABEL (rebuilt every time: they change)
    integer SEED "$SEED"
    integer LABEL "$LABEL"
    need "$CC"
    mkdir -p "$BUILD"
    model=$(generator_object)
    compile startup.c "$BUILD/startup.o"
    compile main.c "$BUILD/main.o" -DSEED="$SEED" -DLABEL="$LABEL"
    link "$BUILD/firmware.elf" "$BUILD/startup.o" "$BUILD/main.o" "$model/gantool_generator.o"
}

check_firmware() {  # BUILD/check.elf: check.c with CHECK/seeds.h (the tests' seeds and labels)
    need "$CC"
    [ -f "$CHECK/seeds.h" ] || die "no seeds.h in CHECK='$CHECK' (the tests write it)"
    mkdir -p "$BUILD"
    model=$(generator_object)
    compile startup.c "$BUILD/startup.o"
    compile check.c "$BUILD/check.o" -I"$CHECK"
    link "$BUILD/check.elf" "$BUILD/startup.o" "$BUILD/check.o" "$model/gantool_generator.o"
}

qemu() {
    need qemu-system-arm
    qemu-system-arm -M mps2-an386 -nographic -monitor none -serial stdio \
        -semihosting-config enable=on,target=native -icount shift=0 -kernel "$1"
}

case ${1:-all} in
    all) firmware ;;
    run) firmware && qemu "$BUILD/firmware.elf" ;;
    size)
        firmware
        arm-none-eabi-size -A "$BUILD/firmware.elf" | grep -E '^\.(text|data|bss|stack) '
        cat "$BUILD"/*.su "$model"/*.su | sort -t"$(printf '\t')" -k2 -n -r | head -5 ;;
    check) check_firmware ;;
    check-run) check_firmware && qemu "$BUILD/check.elf" ;;
    generated)
        "$PYTHON" -c 'from pathlib import Path; from gantool.export.c.maker import write_bundled; write_bundled("nano", Path("generated"))' ;;
    clean) rm -rf -- "$BUILD" ;;
    *) die "unknown target '$1' (all, run, size, check, check-run, generated, clean)" ;;
esac
