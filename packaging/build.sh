#!/usr/bin/env bash
# Build QAT Studio's Linux bundle (PyInstaller, one folder) and its .deb.
#
#   packaging/build.sh              build what is committed (HEAD, exported to build/src)
#   packaging/build.sh --worktree   build the working tree as it is, uncommitted changes included
#   packaging/build.sh --no-deb     the bundle only
#
# Results: dist/qatstudio/ (run dist/qatstudio/qatstudio) and dist/qatstudio_<version>_amd64.deb.
# Needs: the project's .venv (./dev creates it), pip access for PyInstaller the first time,
# dpkg-deb for the .deb. Environment: QATSTUDIO_VENV (default .venv), QATSTUDIO_MAINTAINER.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=${QATSTUDIO_VENV:-$root/.venv}
python="$venv/bin/python"
source_mode=head
make_deb=1
for arg in "$@"; do
    case "$arg" in
        --worktree) source_mode=worktree ;;
        --no-deb) make_deb=0 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

say() { echo "build.sh: $*" >&2; }
[ -x "$python" ] || { say "no virtual environment at $venv: run ./dev test (or ./dev app) once first"; exit 1; }
"$python" -c "import qatstudio, torch, brevitas, concrete.fhe, PySide6" 2>/dev/null \
    || { say "the venv lacks QAT Studio's dependencies: run ./dev test once first"; exit 1; }
if ! "$python" -c "import PyInstaller" 2>/dev/null; then
    say "installing PyInstaller into $venv"
    "$python" -m pip install -q --disable-pip-version-check "pyinstaller>=6.11,<7"
fi

# Sources: the committed tree by default, so a build never carries half-finished edits.
if [ "$source_mode" = head ] && git rev-parse --git-dir >/dev/null 2>&1; then
    src="$root/build/src"
    rm -rf "$src"
    mkdir -p "$src"
    git archive HEAD | tar -x -C "$src"
    built="commit $(git rev-parse --short HEAD)"
    say "building $built$(git diff --quiet HEAD -- qatstudio packaging resources || echo ' (the working tree has uncommitted changes: not included; --worktree builds them)')"
else
    src="$root"
    built="working tree$(git rev-parse --short HEAD 2>/dev/null | sed 's/^/ of commit /')$(git diff --quiet HEAD -- qatstudio packaging resources 2>/dev/null || echo ' with uncommitted changes')"
    say "building the $built"
fi

"$python" "$src/packaging/render_icons.py" --check

version=$("$python" -c "import re,sys; print(re.search(r'__version__ = \"([^\"]+)\"', open(sys.argv[1]).read()).group(1))" \
    "$src/qatstudio/__init__.py")

rm -rf "$root/dist/qatstudio" "$root/dist/qatstudio.build-info"
start=$(date +%s)
"$python" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$root/dist" --workpath "$root/build/pyinstaller" "$src/packaging/qatstudio.spec"
say "bundle built in $(( $(date +%s) - start )) s: $root/dist/qatstudio"

# What must (not) be in it: concrete's runtime where concrete looks for it, no CUDA.
internal="$root/dist/qatstudio/_internal"
# The wheels' largest libraries carry symbol tables only debuggers read (about 160 MB): strip them.
# Their dynamic symbols, which loading and the linking of Concrete's circuits use, stay.
before=$(du -sb "$root/dist/qatstudio" | cut -f1)
for library in "$internal"/torch/lib/libtorch_cpu.so "$internal"/concrete_python.libs/libConcretelangRuntime-*.so \
               "$internal"/mlir/_mlir_libs/libConcretelangBindingsPythonCAPI.so "$internal"/pyarrow/libarrow.so.*; do
    [ -f "$library" ] && strip --strip-unneeded "$library"
done
say "symbol tables stripped: $(( (before - $(du -sb "$root/dist/qatstudio" | cut -f1)) / 1000000 )) MB less"
ls "$internal"/concrete_python.libs/libConcretelangRuntime-*.so >/dev/null
[ -f "$internal/z3/lib/libz3.so" ] && [ -f "$internal/torch/bin/torch_shm_manager" ] && [ -d "$internal/qatstudio/gui" ] \
    || { say "the bundle misses z3's library, torch_shm_manager or qatstudio.gui"; exit 1; }
if find "$internal" \( -iname "libcuda*" -o -iname "libcudnn*" -o -iname "libcublas*" -o -iname "libnccl*" -o -path "*/nvidia/*" \) | grep -q .; then
    say "CUDA libraries found in the bundle (CPU torch only)"; exit 1
fi
if find "$internal" -xtype l | grep -q .; then
    say "dangling symlinks in the bundle:"; find "$internal" -xtype l >&2; exit 1
fi

echo "$built, version $version, built $(date -u '+%Y-%m-%d %H:%M UTC')" > "$root/dist/qatstudio.build-info"

if [ "$make_deb" = 1 ]; then
    start=$(date +%s)
    deb=$(PYTHON="$python" "$src/packaging/make_deb.sh" "$root/dist/qatstudio" "$version" "$root/dist")
    say ".deb built in $(( $(date +%s) - start )) s: $deb"
fi
