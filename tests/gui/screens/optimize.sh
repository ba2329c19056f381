# The optimizer's part of the window, for ../shared/tools/screens (run from the project's root):
#   ../shared/tools/screens 1280x800 shots-1280 tests/gui/screens/optimize.sh
# Configure's predicted FHE cost on a machine never measured, while its lookups are timed, then as
# the neurons and the bit-width change; then Run > Find the cheapest circuit on two Gaussians, running
# and done, its winner opened in the window. A cache of its own: the timing really runs (about two
# minutes on 2 idle cores; on a busy machine give the pauses more time).
export XDG_CACHE_HOME=$home/.cache
app
maximize
shot 01-estimate-not-measured
click 163 454; pause 5; shot 02-timing-lookups
for _ in $(seq 120); do [ -n "$(ls "$XDG_CACHE_HOME"/qatstudio/calibration 2>/dev/null)" ] && break; sleep 5; done
pause 2; shot 03-estimate-measured
click 265 196; key ctrl+a; type 30; key Tab; pause 1; shot 04-estimate-30-neurons
click 265 254; key Down; pause 1; shot 05-estimate-2-bits
quit_app

"$qatstudio" train --shape gaussians --points 600 --epochs 5 --restarts 1 --save "$home/gaussians.qats" >/dev/null 2>&1
app "$home/gaussians.qats"
maximize
key alt+r; pause 1; shot 10-run-menu
key f; pause 2
# the dialog's fields, clicked where they are in it (``key`` would go to the main window)
dialog=$(xdotool search --onlyvisible --name "Find the cheapest circuit" | head -n 1)
xdotool windowactivate --sync "$dialog"
eval "$(xdotool getwindowgeometry --shell "$dialog")"
field() { xdotool mousemove $((X + 370)) $((Y + $1)) click 1; xdotool key ctrl+a; xdotool type --delay 30 "$2"; }
field 103 "0, 1"; field 131 "4, 8"; field 159 "3"; field 187 "off"; pause 1; shot 11-optimizer-dialog
xdotool key Return; pause 40; shot 12-optimizer-running
history=$home/.local/share/qatstudio/history  # two candidates tried, then the winner measured
for _ in $(seq 120); do [ "$(ls "$history"/*.json 2>/dev/null | wc -l)" -ge 2 ] && break; sleep 5; done
pause 60; shot 13-optimizer-done
xdotool windowactivate --sync "$dialog"; xdotool key Escape; pause 2; shot 14-winner-in-the-window
quit_app
