#!/usr/bin/env bash
# tests/gui/test_layout.py on a real X server with a window manager (Xvfb + openbox), once per
# screen size it checks; offscreen Qt has neither, and a layout can pass there and clip here.
#   tests/gui/screens/layout-xvfb.sh [WxH ...]        (default: the four sizes; from the project's root)
set -euo pipefail
python=${PYTHON:-.venv/bin/python}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1280x720 1280x800 1366x768 1920x1080)
status=0
for size in "${sizes[@]}"; do
    display=:$(( 100 + RANDOM % 100 ))
    home=$(mktemp -d)
    Xvfb "$display" -screen 0 "${size}x24" -nolisten tcp >/dev/null 2>&1 & xvfb=$!
    for _ in $(seq 50); do DISPLAY=$display xdotool getdisplaygeometry >/dev/null 2>&1 && break; sleep 0.1; done
    DISPLAY=$display HOME=$home openbox >/dev/null 2>&1 & wm=$!
    sleep 1
    echo "== $size (Xvfb $display, openbox)"
    DISPLAY=$display QT_QPA_PLATFORM=xcb "$python" -m pytest -q -p no:randomly tests/gui/test_layout.py || status=1
    kill "$wm" "$xvfb" 2>/dev/null || true
    wait "$wm" "$xvfb" 2>/dev/null || true
    rm -rf "$home"
done
exit $status
