# Issue 22's "done when", a scenario for ../shared/tools/screens (run from the project's root):
#   QATSTUDIO=$PWD/.venv/bin/qatstudio ../shared/tools/screens 1280x800 shots tests/gui/screens/done.sh
# First launch (a fresh HOME), a short training (8 neurons, 4 inputs each, 3 epochs), compile, simulate, an encrypted
# run, a CSV import and a training on it, Ctrl+Q asking about the unsaved run; then --demo: the studio, the five steps and the trade-offs on stage (F11), step 5
# deployed there, the Deploy panel back in the studio, and SIGTERM stopping the server with the window. Each stage is waited for in the run history
# the window keeps (a busy machine takes longer); fields are clicked where they are in the maximized
# window (the Configure dock is as wide and as high up at every size).

root=$(cd "$(dirname "$scenario")/../../.." && pwd)  # the project's: its example tables
history=$home/.local/share/qatstudio/history
# until_run PATTERN SECONDS [RUNS]: wait until RUNS (1) runs of the history say PATTERN (an extended grep of their JSON)
until_run() {
    for _ in $(seq $(( $2 / 2 ))); do
        [ "$(grep -lsE "$1" "$history"/*.json | wc -l)" -ge "${3:-1}" ] && return 0
        sleep 2
    done
    echo "screens: fewer than ${3:-1} runs in the history said '$1' after $2 s" >&2
}
field() { click "$1" "$2"; key ctrl+a; type "$3"; key Tab; }
# A presenter's remote sends its keys to the window in front (the presentation), never to a chosen one.
remote() { xdotool key --clearmodifiers "$@"; sleep 1.5; }

app
pause 3
shot 01-first-launch
maximize
field 265 196 8    # Hidden neurons (Configure's Model tab)
field 205 283 4    # Pruning budget (no more than the 8 inputs a neuron now has)
click 101 138      # the Training tab
field 200 168 3    # Epochs
click 36 138       # back to the Model tab: its predicted FHE cost
pause 1
shot 02-configured
key ctrl+t
pause 4
shot 03-training
until_run '"clear_accuracy": *[0-9]' 300
pause 2
shot 04-trained
key ctrl+k
until_run '"stats": *\{' 300
pause 2
shot 05-compiled
key ctrl+m
until_run '"fhe_simulated_accuracy": *[0-9]' 300
pause 2
shot 06-simulated
key ctrl+e
pause 6
shot 07-encrypting
until_run '"fhe_executed_samples": *[1-9]' 600
pause 2
shot 08-encrypted

key ctrl+i    # File > Import data: the file picker, then the import's settings
pause 3
shot 09-import-picker
type "$root/resources/examples/plants.csv"
key Return
pause 3
shot 10-import-settings
key Return
pause 10
shot 11-imported
key ctrl+t
until_run '"clear_accuracy": *[0-9]' 300 2
pause 2
shot 12-trained-on-the-table
key ctrl+q    # the run is not saved: the window asks first; Cancel keeps it open
pause 2
shot 13-quit-asks
key Escape
pause 1
shot 14-quit-cancelled
# SIGTERM closes without asking about the unsaved run (as a logout does)
kill -TERM "$app_pid"; for _ in $(seq 40); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.5; done

app --demo
pause 10
shot 20-demo-studio
key F11; pause 3; shot 21-stage-step1
remote Next; shot 22-stage-step2
remote Next; shot 23-stage-step3
remote Next; shot 24-stage-step4
remote Next; shot 25-stage-step5
remote Next; shot 26-stage-tradeoffs
remote Prior
remote d; pause 8; shot 27-stage-deploying
pause 150; shot 28-stage-deployed
remote Escape; pause 2; shot 29-studio-deploy-panel
# SIGTERM stops the local `qatstudio serve` child with the window (it was left running before)
server=$(pgrep -P "$app_pid" -f "qatstudio serve" | head -1)  # this window's server, not another run's
[ -n "$server" ] && echo "screens: the deploy server ($server) runs beside the window" >&2
kill -TERM "$app_pid"; for _ in $(seq 40); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.5; done
sleep 2
if [ -z "$server" ]; then echo "screens: no deploy server was found beside the window" >&2
elif kill -0 "$server" 2>/dev/null; then echo "screens: the deploy server outlived the window" >&2
else echo "screens: the deploy server stopped with the window" >&2; fi
