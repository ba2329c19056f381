# Dialogs, menus and first paints, for ../shared/tools/screens (run from the project's root):
#   QATSTUDIO=$PWD/.venv/bin/qatstudio ../shared/tools/screens 1280x800 shots-dialogs tests/gui/screens/dialogs.sh
# A sweep from the command line first (its runs in the fresh history, its report beside the shots);
# then the window: the toolbar (Generate keys without a check mark), View with every panel, Help's
# keyboard shortcuts and tour, the History of the sweep's runs, the data preview while it redraws and
# after, File > Import data (the picker in the shipped examples, the dialog with the first rows),
# Export report (the user's folder); then --demo: painted with "Loading the story..." before the
# story opens, View again, and Export report after a story run was opened from the app's resources
# (still the user's folder).

HOME=$home XDG_CONFIG_HOME=$home/.config "$qatstudio" sweep --kind qat --neurons 8 --bits 3 --budgets off 4 9 \
    --epochs 1 --points 900 --workers 1 --report "$out/sweep-report.html" >"$out/sweep.log" 2>&1 || true

app
shot 01-window
key alt+v; shot 02-view-menu
key Escape
key alt+h k; pause 1; shot 02a-help-keyboard-shortcuts
xdotool key Escape; pause 0.5
key F1; pause 1; shot 02b-help-tour
xdotool key Escape; pause 0.5
key ctrl+3; pause 2; shot 02c-history-of-the-sweep   # the run names readable in the narrow dock
# Configure's Data tab (where it is in the window, which is not maximized at 1920 x 1080)
eval "$(xdotool getwindowgeometry --shell "$win")"
xdotool mousemove $((X + 164)) $((Y + 119)) click 1
xdotool mousemove $((X + 640)) $((Y + 700)); sleep 0.5
key alt+p Up Up Up Up; xdotool key Return; sleep 0.3; shot 03-preview-updating   # Presets > Two spirals
pause 4; shot 04-preview-spirals
key ctrl+i; pause 2; shot 05-import-picker-in-examples
type machines.csv; xdotool key Return; pause 2; shot 06-import-dialog-rows
xdotool key Return; pause 5; shot 07-imported
key alt+d e; pause 2; shot 08-export-report-folder   # Demo > Export report
xdotool key Escape; pause 1
quit_app

app --demo
shot 10-demo-painted-loading
pause 15; shot 11-demo-loaded
key alt+v; shot 12-demo-view-menu
key Escape
key ctrl+o; pause 2; type "$PWD/resources/story/1-float-baseline.qats"; xdotool key Return; pause 8   # a story run
key alt+d e; pause 2; shot 13-export-report-after-a-story-run   # not the app's resources
xdotool key Escape; pause 1
quit_app
