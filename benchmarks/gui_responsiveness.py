"""How well the window keeps up while it trains (beside it, in its training process).

Prints, calm and then with one CPU-bound process (a "hog") beside it, with the load average at each:
  (a) the longest stall and the 99th percentile of the GUI event loop's gaps during training,
      measured with a timer heartbeat (targets: < 16 ms and < 8 ms calm, < 33 ms and < 16 ms with
      the hog); the longest stall is also split by when it happens: at the Train click (up to the
      first step shown), while the steps come, or after the last one (the run measured, then shown);
  (b) the training loop's time in the window's training process versus the bare core ``train`` in
      this process on the same configuration (target: at most 10% slower);
  (c) how long Train takes to show its first step with the training process started ahead (as the
      window does) and with one that must start first.

Runs are interleaved (bare, window, bare, window, ...) so that a busy machine slows both alike;
the median of each is compared. Before each condition's runs the heartbeat also runs a few seconds
with the window idle: the stalls the machine alone causes (the GUI thread waiting for a core), the
floor under those measured while training.

The data: a generated shape (``--shape``, ``--points``, ``--test-points``: e.g. a 100,000-point set
whose boundary plot draws a sample of 20,000 test points), or a table of ``--table-features``
features made here as a CSV file and imported through the window's File > Import data, whose
stall is measured too.

With ``--profile``, each window run also says where the GUI thread's time went per second of
training, by kind of event (its type and its receiver: paints, queued messages, timers, layouts),
and the longest of each; the timing itself slows every event a little, so stalls are then larger.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_responsiveness.py [--repeats 3] [--no-hog] [--profile]
    ... benchmarks/gui_responsiveness.py --shape moons --points 100000 --test-points 20000
    ... benchmarks/gui_responsiveness.py --table-features 20 --table-rows 20000
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HEARTBEAT_MS = 10


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="qat", help="float or qat")
    parser.add_argument("--neurons", type=int, default=100)
    parser.add_argument("--bits", type=int, default=3)
    parser.add_argument("--budget", type=int, default=20, help="pruning budget (0: off)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (bare and window)")
    parser.add_argument("--shape", default="checkerboard", help="a generated shape (engine.config.SHAPES)")
    parser.add_argument("--points", type=int, default=10_000, help="points of the generated shape")
    parser.add_argument("--test-points", type=int, default=500, help="its test points")
    parser.add_argument("--table-features", type=int, default=0,
                        help="train on a table of this many features instead (imported through the window)")
    parser.add_argument("--table-rows", type=int, default=20_000)
    parser.add_argument("--no-hog", action="store_true", help="skip the runs with a CPU-bound process beside")
    parser.add_argument("--profile", action="store_true",
                        help="say where the GUI thread's time goes while the window trains")
    return parser.parse_args()


def write_table(path: Path, rows: int, features: int) -> None:
    """A seeded CSV: ``features`` numeric columns and a 'label' of three classes that two of them decide."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, features))
    labels = np.digitize(x[:, 0] + 0.7 * x[:, 1], [-0.6, 0.6])
    header = ",".join([f"f{i}" for i in range(features)] + ["label"])
    np.savetxt(path, np.column_stack([x, labels]), delimiter=",", header=header, comments="",
               fmt=["%.5f"] * features + ["%d"])


class Heartbeat:
    """A timer every HEARTBEAT_MS on the GUI thread: the gaps beyond it are event-loop stalls."""

    def __init__(self):
        from PySide6.QtCore import QElapsedTimer, QTimer

        self.gaps: list[float] = []
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._beat)

    def _beat(self) -> None:
        self.gaps.append(self.clock.nsecsElapsed() / 1e6)
        self.clock.restart()

    def worst_between(self, start_s: float, end_s: float) -> float:
        """The longest stall (ms) among the gaps that end between ``start_s`` and ``end_s`` after the start."""
        ends = list(itertools.accumulate(gap / 1e3 for gap in self.gaps))  # when each gap ended (s)
        inside = [gap for gap, end in zip(self.gaps[1:], ends[1:]) if start_s < end <= end_s]
        return max(inside) - HEARTBEAT_MS if inside else 0.0

    def start(self) -> None:
        self.clock.start()
        self.timer.start()

    def stop(self) -> "tuple[float, float]":
        """The longest stall and the 99th percentile (ms); the first gap (the start) not counted."""
        self.timer.stop()
        steady = self.gaps[1:] if len(self.gaps) > 1 else self.gaps
        stall = max(steady) - HEARTBEAT_MS if steady else float("nan")
        p99 = statistics.quantiles(steady, n=100)[98] - HEARTBEAT_MS if len(steady) >= 100 else float("nan")
        return stall, p99


def timed_application(base):
    """A ``base`` (QApplication) that times every event the GUI thread handles at the top level (not
    those sent while handling another): ``times`` maps "type on receiver's class" to its durations (s)."""

    class TimedApplication(base):
        def __init__(self, argv):
            super().__init__(argv)
            self.times: dict[str, list[float]] = {}
            self._depth = 0

        def notify(self, receiver, event):
            kind = f"{event.type().name} on {type(receiver).__name__}" if self._depth == 0 else ""
            self._depth += 1
            started = time.perf_counter()
            try:
                return super().notify(receiver, event)
            finally:
                self._depth -= 1
                if kind:
                    self.times.setdefault(kind, []).append(time.perf_counter() - started)

    return TimedApplication


def print_profile(times: "dict[str, list[float]]", seconds: float, top: int = 8) -> None:
    """The kinds of event that took most of the GUI thread, per second of ``seconds``."""
    ranked = sorted(times.items(), key=lambda item: -sum(item[1]))
    print(f"    GUI thread: {1000 * sum(map(sum, times.values())) / seconds:.0f} ms per second in events; most:")
    for kind, durations in ranked[:top]:
        print(f"      {1000 * sum(durations) / seconds:6.1f} ms/s  {len(durations) / seconds:5.1f}/s  "
              f"longest {1000 * max(durations):5.1f} ms  {kind}")


def load() -> str:
    return "load " + " ".join(f"{value:.2f}" for value in os.getloadavg())


HOG = "while True:\n    pass\n"  # one core's worth of pure Python


def main() -> int:
    args = parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = tempfile.mkdtemp(prefix="qatstudio-bench-")
    os.environ["QATSTUDIO_HOME"] = home  # no touching the user's files

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    import qatstudio.gui  # noqa: F401  (guards PySide6 6.12's None refcount leak first)
    from qatstudio.engine.config import DataConfig, ExperimentConfig, ModelKind
    from qatstudio.engine.training import train
    from qatstudio.gui.app import configure_runtime, freeze_heap, garbage_collected_on_gui_thread
    from qatstudio.gui.window.main_window import MainWindow
    from qatstudio.services import jobs
    from qatstudio.services.formatting import data_name, plural

    threads = configure_runtime()  # as run_app does: the figures are the app's, for both runs

    app = (timed_application(QApplication) if args.profile else QApplication)([])
    window = MainWindow(QSettings(str(Path(home) / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(1280, 800)
    window.show()
    app.processEvents()
    freeze_heap()  # as run_app does once the window is open
    cleanup = contextlib.ExitStack()
    cleanup.enter_context(garbage_collected_on_gui_thread())  # as run_app does while its loop runs
    trainer = window.presenters.training.process

    def finish(trigger, on_step=None) -> str:
        """Fire ``trigger`` and wait for the task it starts; its outcome. ``on_step()`` at each batch of steps."""
        loop = QEventLoop()
        outcome = []

        def done(name: str, result: str) -> None:
            outcome.append(result)
            loop.quit()

        def step(message) -> None:
            if isinstance(message, jobs.StepBatch):
                on_step()

        window.taskFinished.connect(done)
        trigger()
        task = window.presenters.slot.task
        if task is not None and on_step is not None:
            task.message.connect(step)
        loop.exec()
        window.taskFinished.disconnect(done)
        return outcome[0]

    if args.table_features:
        csv = Path(home) / f"table-{args.table_features}.csv"
        write_table(csv, args.table_rows, args.table_features)
        print(f"importing a {args.table_rows:,}-row, {args.table_features}-feature CSV through the window...",
              flush=True)
        window.files.import_file(csv)
        dialog = window.files.import_settings
        dialog.label.setCurrentText("label")
        heartbeat = Heartbeat()
        heartbeat.start()
        started = time.perf_counter()
        outcome = finish(dialog.accept)
        stall, p99 = heartbeat.stop()
        assert outcome == "succeeded", window.status_text()
        print(f"  import: {time.perf_counter() - started:.2f} s, longest GUI stall {stall:.1f} ms, "
              f"p99 {p99:.1f} ms ({load()})", flush=True)
        data = window.config_panel.config().data
    else:
        data = DataConfig.for_shape(args.shape, n_points=args.points, n_test=args.test_points)
    config = ExperimentConfig(kind=ModelKind.read(args.kind), n_hidden=args.neurons, bits=args.bits,
                              pruning_budget=args.budget or None, epochs=args.epochs, data=data)
    config.validate()
    dataset = window.session.tables.dataset_for(config.data)  # an imported table's rows are the window's

    def bare_run() -> float:
        """The bare core loop in this process, as ``qatstudio train`` runs it."""
        return train(config, dataset).elapsed_s

    def idle_stalls(seconds: float = 3.0) -> "tuple[float, float]":
        """The heartbeat's stalls over ``seconds`` with the window idle."""
        heartbeat = Heartbeat()
        loop = QEventLoop()
        QTimer.singleShot(int(1000 * seconds), loop.quit)
        heartbeat.start()
        loop.exec()
        return heartbeat.stop()

    gui_share: list[float] = []
    profiles: list[tuple[dict, float]] = []  # with --profile: each window run's event times, and its seconds

    def window_run(run_config) -> "tuple[float, float, tuple[float, float], int, float, str]":
        """One training in the window, the heartbeat on: (loop s, job s, stalls, redraws, first step s,
        the longest stall by when it happened, in words)."""
        window.config_panel.set_config(run_config)
        heartbeat = Heartbeat()
        redraws_before = window.plots.redraws
        if args.profile:
            app.times.clear()
        gui_cpu = time.thread_time()
        wall = time.perf_counter()
        steps = []  # when each batch of steps came, from the click (s)
        heartbeat.start()
        outcome = finish(window.train_button.click, lambda: steps.append(time.perf_counter() - wall))
        stalls = heartbeat.stop()
        wall = time.perf_counter() - wall
        first, last = (steps[0], steps[-1]) if steps else (wall, wall)
        when = (f"at the click {heartbeat.worst_between(0, first):.1f}, while the steps came "
                f"{heartbeat.worst_between(first, last):.1f}, after the last step (the run measured, then shown) "
                f"{heartbeat.worst_between(last, wall + 1):.1f} ms")
        gui_cpu = time.thread_time() - gui_cpu
        gui_share.append(gui_cpu / wall)
        if args.profile:
            profiles.append((dict(app.times), wall))
        experiment = window.session.run.experiment
        assert outcome == "succeeded" and experiment is not None and not experiment.cancelled, window.status_text()
        loop_s = experiment.train_s  # the training loop alone (every restart), as the core times it
        return loop_s, wall, stalls, window.plots.redraws - redraws_before, first if steps else float("nan"), when

    print(f"data: {data_name(config.data)}: {len(dataset.y_train):,} training and {len(dataset.y_test):,} test "
          f"points, {dataset.n_features} features, {dataset.n_classes} classes")
    print(f"configuration: {config.kind.value}, {config.n_layers}x{config.n_hidden} neurons, {config.bits} bits, "
          f"budget {config.pruning_budget}, {plural(config.epochs, 'epoch')}, batch {config.batch_size or 'automatic'}; "
          f"torch intra-op threads {threads} (as the app sets them, in both processes); "
          f"{args.repeats} runs each, interleaved", flush=True)

    # (c) first, while the training process is cold: Train with a process that must start, then
    # with one started ahead and ready (as the window starts it while it opens).
    warm = config.replace(epochs=1)
    trainer.close()
    trainer.start()
    cold = window_run(warm)[4]
    trainer.close()
    started = time.perf_counter()
    trainer.start()
    while not trainer.is_ready():
        time.sleep(0.05)
    ready_s = time.perf_counter() - started
    ahead = window_run(warm)[4]
    train(warm, dataset)  # the bare loop's warm-up, not counted
    print(f"(c) Train to first step: {ahead:.2f} s with the training process started ahead (it was ready "
          f"{ready_s:.1f} s after starting), {cold:.2f} s with one starting then ({load()})", flush=True)

    results = {}
    conditions = ["calm"] + ([] if args.no_hog else ["hog"])
    for condition in conditions:
        hog = subprocess.Popen([sys.executable, "-c", HOG]) if condition == "hog" else None
        try:
            bare, windowed, stalls, p99s, rates, loads = [], [], [], [], [], []
            print(f"{condition}:" + (" one CPU-bound process beside" if hog else ""), flush=True)
            stall, p99 = idle_stalls()
            print(f"  idle window (no training): GUI stall worst {stall:.1f} ms, p99 {p99:.1f} ms ({load()})",
                  flush=True)
            for repeat in range(args.repeats):
                b = bare_run()
                loop_s, wall, (stall, p99), redraws, _, when = window_run(config)
                bare.append(b)
                windowed.append(loop_s)
                stalls.append(stall)
                p99s.append(p99)
                rates.append(redraws / wall)
                loads.append(os.getloadavg()[0])
                print(f"  run {repeat + 1}: bare core {b:.2f} s | window {loop_s:.2f} s (job {wall:.2f} s, "
                      f"{redraws / wall:.1f} redraws/s, GUI thread {100 * gui_share[-1]:.0f}% of a core); "
                      f"GUI stall worst {stall:.1f} ms, p99 {p99:.1f} ms ({load()})", flush=True)
                print(f"    worst stall {when}", flush=True)
                if args.profile:
                    print_profile(*profiles[-1])
            results[condition] = (bare, windowed, stalls, p99s, rates, loads)
        finally:
            if hog is not None:
                hog.kill()
                hog.wait()

    window.ask_before_discarding = False  # the runs are the benchmark's own: nothing to save
    window.close()
    cleanup.close()
    app.processEvents()
    print()
    print(f"machine: {os.cpu_count()} cores; the load average (1 min) is given with each figure: other work on "
          f"the machine skews them")
    targets = {"calm": (16, 8), "hog": (33, 16)}
    for condition, (bare, windowed, stalls, p99s, rates, loads) in results.items():
        worst, p99 = max(stalls), max(p99s)
        limit_stall, limit_p99 = targets[condition]
        ok = worst < limit_stall and p99 < limit_p99
        slowdown = 100 * (statistics.median(windowed) / statistics.median(bare) - 1)
        print(f"{condition} (load {min(loads):.2f}-{max(loads):.2f}):")
        print(f"  (a) GUI event loop during training: worst stall {worst:.1f} ms, p99 {p99:.1f} ms (worst runs; "
              f"targets < {limit_stall} / < {limit_p99} ms) -> {'OK' if ok else 'MISSED'}")
        verdict = "" if condition != "calm" else f" (target <= +10%) -> {'OK' if slowdown <= 10 else 'MISSED'}"
        print(f"  (b) training loop: window's process {statistics.median(windowed):.2f} s vs bare core "
              f"{statistics.median(bare):.2f} s (medians): {slowdown:+.1f}%{verdict}")
        print(f"      plots redrawn at {statistics.median(rates):.1f} redraws/s (limit 15)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
