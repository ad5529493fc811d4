#!/usr/bin/env bash
# Make PyPI's mxnet 1.9.1 importable on aarch64 Linux: build stand-ins for the three Arm
# Performance Libraries that its libmxnet.so is linked against but does not bundle
# (libarmpl_lp64_mp.so, libamath.so, libastring.so), from Debian's/Ubuntu's OpenBLAS,
# LAPACKE, libm and libc. README.md beside this file says why and how.
#
#   envs/armpl-standin/install.sh VENV
#
# Builds into VENV/lib/armpl-standin/ and links the three files into the mxnet package
# folder, where libmxnet.so looks first (its RPATH is $ORIGIN): no LD_LIBRARY_PATH needed.
# A second run with nothing changed only compares a stamp and exits.
# Needs gcc, binutils (readelf, nm), libopenblas-*-dev and liblapacke-dev; as root with
# apt-get it installs the missing ones, otherwise it names them and stops.
set -euo pipefail

die() { printf 'armpl-standin: %s\n' "$*" >&2; exit 1; }
say() { printf 'armpl-standin: %s\n' "$*"; }

[ $# -eq 1 ] || die "usage: $0 VENV"
[ -d "$1" ] || die "$1: no such folder (make the venv and pip install mxnet first)"
VENV=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
PY=$VENV/bin/python
[ -x "$PY" ] || die "$PY not found: make the venv and pip install mxnet first"

# Where mxnet is, found without importing it (importing is what fails).
MXDIR=$("$PY" -c 'import importlib.util, os, sys
s = importlib.util.find_spec("mxnet")
sys.exit(1) if s is None or s.origin is None else print(os.path.dirname(s.origin))') \
    || die "mxnet is not installed in $VENV"
LIBMXNET=$MXDIR/libmxnet.so
[ -f "$LIBMXNET" ] || die "$LIBMXNET not found"

OUT=$VENV/lib/armpl-standin
STAMP=$OUT/stamp
NAMES="libarmpl_lp64_mp.so libamath.so libastring.so"

# The fast path: same script, same source, same mxnet, links in place.
key() {
    # What a build depends on; the OpenBLAS/LAPACKE in use are added once they are known.
    { cat "$HERE/install.sh" "$HERE/standin.c"; echo "$LIBMXNET"; stat -c '%s %Y' "$LIBMXNET"; } | sha256sum | cut -d' ' -f1
}
links_ok() {
    local n
    for n in $NAMES; do
        [ "$(readlink "$MXDIR/$n" 2>/dev/null)" = "$OUT/$n" ] && [ -f "$OUT/$n" ] || return 1
    done
}
libs_ok() {  # the OpenBLAS and LAPACKE the stand-ins were linked against are still there
    local f
    for f in $(sed -n 's/^libs=//p' "$STAMP" | tr ' ' '\n'); do [ -e "$f" ] || return 1; done
}
if [ -f "$STAMP" ] && [ "$(head -n1 "$STAMP")" = "$(key)" ] && links_ok && libs_ok; then
    say "up to date ($OUT)"
    exit 0
fi

# Tools and libraries. readelf/nm come with binutils, which gcc depends on.
APT_PKGS=(gcc libc6-dev binutils libopenblas-openmp-dev liblapacke-dev)
have_tools() { command -v gcc >/dev/null && command -v readelf >/dev/null && command -v nm >/dev/null; }
linkable() { [ "$(gcc -print-file-name="$1")" != "$1" ]; }
have_libs() { linkable libopenblas.so && linkable liblapacke.so; }
apt_install() { apt-get install -y --no-install-recommends "$@" >/dev/null; }
if ! have_tools || ! have_libs; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing ${APT_PKGS[*]} (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        # An empty package list on a fresh system: update once, then try again. A release
        # without the OpenMP build of OpenBLAS gets the default one (libopenblas-dev).
        apt_install "${APT_PKGS[@]}" 2>/dev/null || { apt-get update -qq && apt_install "${APT_PKGS[@]}"; } \
            || apt_install "${APT_PKGS[@]/libopenblas-openmp-dev/libopenblas-dev}" \
            || die "apt-get install ${APT_PKGS[*]} failed"
    else
        die "missing build tools or libraries; install them and run again:
    sudo apt-get install ${APT_PKGS[*]}
(any libopenblas*-dev will do: libopenblas-dev or libopenblas-pthread-dev too)"
    fi
    if ! have_tools || ! have_libs; then
        die "still missing after apt-get: gcc/readelf/nm or libopenblas.so/liblapacke.so"
    fi
fi

# Which of the three this libmxnet.so asks for (all three for PyPI's 1.9.1 aarch64 wheel).
NEEDED=$(readelf -d "$LIBMXNET" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
WANT=""
for n in $NAMES; do
    case " $NEEDED " in *" $n "*) WANT="$WANT $n" ;; esac
done
if [ -z "$WANT" ]; then
    say "$LIBMXNET needs none of $NAMES: nothing to do"
    exit 0
fi
readelf -d "$LIBMXNET" | grep -Eq '(RPATH|RUNPATH).*\$\{?ORIGIN\}?' \
    || die "$LIBMXNET has no \$ORIGIN in its RPATH/RUNPATH; the stand-ins would not be found next to it"

# OpenBLAS: the OpenMP build when it is installed (ArmPL's _mp is OpenMP, like libmxnet's
# own threads, and both then share one libgomp pool), otherwise whichever libopenblas.so
# the linker finds. Its folder goes into the stand-in's RUNPATH, so that this build keeps
# that variant whatever the system's alternatives point to later.
TRIPLET=$(gcc -print-multiarch 2>/dev/null || true)
OBDIR=""
for d in /usr/lib/$TRIPLET/openblas-openmp /usr/lib/$TRIPLET/openblas-pthread /usr/lib/$TRIPLET/openblas-serial; do
    if [ -n "$TRIPLET" ] && [ -e "$d/libopenblas.so" ]; then OBDIR=$d; break; fi
done
if [ -z "$OBDIR" ]; then OBDIR=$(dirname "$(readlink -f "$(gcc -print-file-name=libopenblas.so)")"); fi
LAPACKE_SO=$(readlink -f "$(gcc -print-file-name=liblapacke.so)")
OPENBLAS_SO=$(readlink -f "$OBDIR/libopenblas.so")

# Every BLAS/LAPACK symbol libmxnet.so leaves undefined must be defined by OpenBLAS or
# LAPACKE, or mxnet would load (symbols bind lazily) and fail at its first call instead.
wanted_syms() {
    nm -D --undefined-only "$LIBMXNET" | awk '{print $NF}' | grep -v '@' \
        | grep -E '^(cblas_|LAPACKE_|[sdcz][a-z0-9]+_$)' | sort -u
}
have_syms() { nm -D --defined-only "$OPENBLAS_SO" "$LAPACKE_SO" 2>/dev/null | awk 'NF==3{print $3}' | sed 's/@.*//' | sort -u; }
MISSING=$(comm -23 <(wanted_syms) <(have_syms))
[ -z "$MISSING" ] || die "OpenBLAS ($OPENBLAS_SO) and LAPACKE ($LAPACKE_SO) lack: $(echo "$MISSING" | tr '\n' ' ')"
say "$(wanted_syms | wc -l) BLAS/LAPACK symbols of libmxnet.so found in $(basename "$OPENBLAS_SO") ($OBDIR) and $(basename "$LAPACKE_SO")"

# Build into a temporary folder beside the target, then move into place.
mkdir -p "$OUT"
TMP=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
build() {  # name, libraries to link (in search order)
    local name=$1; shift
    gcc -shared -fPIC -O2 -o "$TMP/$name" "$HERE/standin.c" \
        -DEDGEBENCH_STANDIN_FOR="\"$name\"" -Wl,-soname,"$name" -Wl,--no-as-needed "$@"
}
build libarmpl_lp64_mp.so -L"$OBDIR" -Wl,-rpath,"$OBDIR" -lopenblas -llapacke
build libamath.so -lm
build libastring.so -lc
for n in $NAMES; do
    mv -f "$TMP/$n" "$OUT/$n"
    ln -sfn "$OUT/$n" "$MXDIR/$n"
done

# Load libmxnet.so with every symbol bound now (LD_BIND_NOW), without mxnet's Python side.
LD_BIND_NOW=1 "$PY" -c 'import ctypes, sys; ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_LOCAL)' "$LIBMXNET" \
    || die "libmxnet.so still does not load; see the error above"

{ key; echo "libs=$OPENBLAS_SO $LAPACKE_SO"; } > "$STAMP"
say "built $NAMES in $OUT and linked them into $MXDIR; libmxnet.so loads with all symbols bound"
