# The demo on stage, as a presenter gives it (a scenario for ../shared/tools/screens):
#   QATSTUDIO=$PWD/.venv/bin/qatstudio ../shared/tools/screens 1280x720 shots tests/gui/screens/presentation.sh
# the studio in --demo, F11, the five steps and the trade-offs with a remote's keys, a black
# screen, step 5 deployed from the stage, step 1 re-run live on stage, then back to the studio.
# Times are for 2 busy cores.

# A presenter's remote sends its keys to the window in front (the presentation), never to a chosen one.
remote() { xdotool key --clearmodifiers "$@"; sleep 1.5; }

app --demo
pause 8
shot 10-demo-studio
key F11; pause 3; shot 11-stage-step1
remote Next; shot 12-stage-step2
remote Right; shot 13-stage-step3
remote space; shot 14-stage-step4
remote Next; shot 15-stage-step5
remote Next; shot 16-stage-tradeoffs
remote b; shot 17-stage-black
remote b
remote Prior; shot 18-stage-step5-again
remote d; pause 6; shot 19-stage-deploying
pause 150; shot 20-stage-deployed
remote Prior Prior Prior Prior; shot 21-stage-step1
remote r; pause 12; shot 22-stage-live-rerun
pause 45; shot 23-stage-live-rerun-later
remote Next; shot 24-stage-step2-after-live
remote Escape; pause 2; shot 25-back-in-the-studio
key ctrl+q; pause 2; shot 26-quit-asks   # the re-run is not saved: Save, Discard or Cancel
# SIGTERM closes without asking (as a logout does) and stops the local server of "Deploy it"
kill -TERM "$app_pid"; for _ in $(seq 40); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.5; done
