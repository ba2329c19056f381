"""The circuit: compiling the session's integer model, its keys, the FHE simulation and encrypted
runs; and this machine's lookup times, which the panels predict cost from."""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import QObject, Signal

from ...engine.cost import LookupTimes
from ...engine.data import Dataset
from ...engine.fhe import AccumulatorTooWideError
from ...services import jobs
from ...services.formatting import fmt_eta, fmt_key_bytes, fmt_latency, fmt_percent, fmt_progress, fmt_seconds, plural
from ...services.key_budget import cheaper_settings, describe_key_cost, key_cost_problems, keys_to_make
from ...services.keys import KeyCache
from ...services.session import Session
from ..state import TaskKind
from ..workers import Task, TaskError
from .slot import TaskSlot, Views


class CircuitPresenter(QObject):
    keysQuestion = Signal(str, object)  # costly keys: the question, and what to call on yes

    def __init__(self, slot: TaskSlot, session: Session, views: Views, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.slot, self.session, self.views = slot, session, views
        self._latencies: list[float] = []

    def show_estimate(self, experiment) -> None:
        """Before compiling: the integer model's widths, and whether Concrete will take them."""
        model = experiment.integer_model
        self.views.compile.show_estimate(model)
        too_wide = model.too_wide()
        if too_wide is not None:
            self.views.compile.set_status(f"Compiling will fail: {AccumulatorTooWideError(*too_wide)}.")
        else:
            self.views.compile.set_status("Accumulator widths of the integer model; compile for the circuit's "
                                          "figures.")

    # ------------------------------------------------------------ compile and keys
    def start_compile(self) -> Optional[Task]:
        experiment = self.session.run.experiment
        if experiment is None or experiment.integer_model is None:
            self.slot.hint("Train a model (or open an experiment) before compiling.")
            return None
        panel = self.views.compile
        task = self.slot.start(TaskKind.COMPILE, jobs.compile_job(experiment), self.slot.on_phase, self._on_compiled,
                               on_failure=self._on_compile_failed,
                               on_cancel=lambda: panel.set_status("Compilation cancelled."))
        if task is not None:
            self.session.compiling()
            panel.keygen_finished(None)
            panel.set_status("Compiling to an FHE circuit\u2026")
            self.slot.showPanel.emit(panel)
            self.slot.work("Compiling the integer model to an FHE circuit with Concrete\u2026")
        return task

    def _on_compiled(self, compiled) -> None:
        report = compiled.stats
        self.views.compile.show_report(report)
        self.views.compile.set_status("Compiled: simulate it or run it encrypted in Results.")
        self.slot.result(f"Compiled: {report.accumulator_bits}-bit accumulator, {report.pbs_count} PBS, "
                         f"keys {fmt_key_bytes(report.key_bytes, compressed=False)}. Next: Simulate FHE (Ctrl+M).")
        self.session.compiled_to(compiled)

    def _on_compile_failed(self, error: TaskError) -> None:
        if isinstance(error.exception, AccumulatorTooWideError):
            self.views.compile.show_estimate(self.session.run.experiment.integer_model)
        self.views.compile.set_status(f"Compilation failed: {error.message}")

    def _keys_need_a_yes(self, on_yes: Callable[[], object]) -> bool:
        """True (and the question asked) when the circuit's keys are predicted to cost more than
        the app makes without asking; ``on_yes`` starts the work again, confirmed."""
        cache = KeyCache()
        cost = None if self.session.run.keys is not None else keys_to_make(self.session.run.compiled, cache)
        if cost is None:
            return False
        problems = key_cost_problems(cost, cache.folder)
        if not problems:
            return False
        self.keysQuestion.emit(
            f"This circuit needs {describe_key_cost(cost)}: {'; '.join(problems)}.\n\nTo make them cheaper, "
            f"{cheaper_settings(self.session.run.experiment.config)}, then train and compile again.\n\n"
            f"Make these keys anyway?", on_yes)
        return True

    def start_keygen(self, confirmed: bool = False) -> Optional[Task]:
        compiled = self.session.run.compiled
        if compiled is None:
            self.slot.hint("Compile first: keys belong to a circuit.")
            return None
        if not confirmed and self._keys_need_a_yes(lambda: self.start_keygen(confirmed=True)):
            return None
        panel = self.views.compile
        task = self.slot.start(TaskKind.KEYGEN, jobs.keygen_job(compiled), self.slot.on_phase, self._on_keys,
                               on_failure=lambda error: panel.keygen_finished(None, "Key generation failed."),
                               on_cancel=lambda: panel.keygen_finished(None, "Key generation cancelled."))
        if task is not None:
            self.slot.showPanel.emit(panel)
            panel.keygen_started()
        return task

    def _on_keys(self, keys) -> None:
        self.session.keys_made(keys)
        self.views.compile.keygen_finished(keys)
        self.views.results.show_metrics(self.session.run.experiment.metrics)
        how = "loaded from the cache" if keys.from_cache else "generated"
        self.slot.result(f"Keys {how} in {fmt_seconds(keys.seconds)}. Run encrypted in Results (Ctrl+E).")

    # ------------------------------------------------------------ FHE simulation and encrypted runs
    def start_simulation(self) -> Optional[Task]:
        compiled, experiment = self.session.run.compiled, self.session.run.experiment
        if compiled is None:
            self.slot.hint("Compile first: the simulation runs the compiled circuit.")
            return None
        panel, dataset = self.views.results, self.session.run.dataset
        job = jobs.simulate_job(experiment.metrics, dataset, compiled)
        task = self.slot.start(TaskKind.SIMULATE, job, self._on_simulation_message,
                               lambda outcome: self._on_simulated(outcome, dataset),
                               on_cancel=lambda: panel.simulation_progress(0, 0, ""))
        if task is not None:
            self.slot.showPanel.emit(panel)
            panel.show_boundaries(None, None)
            self.slot.work("FHE simulation of every test point\u2026")
        return task

    def _on_simulation_message(self, message) -> None:
        if isinstance(message, jobs.Progress):
            self.views.results.simulation_progress(message.done, message.total, message.text, message.noun)
            self.slot.work(f"{message.text}: {fmt_progress(message.done, message.total, message.noun)} \u00b7 "
                           f"{fmt_eta(message.eta_s)}")
        elif isinstance(message, jobs.SimulationOutcome):  # the test points are done: the table first
            self.session.measured(message.metrics)
            self.views.results.show_metrics(message.metrics)

    def _on_simulated(self, outcome: jobs.SimulationOutcome, dataset: Dataset) -> None:
        """``dataset``: the one simulated, whose boundary grid lies on the plane chosen then."""
        panel = self.views.results
        panel.show_metrics(outcome.metrics)
        axes = tuple(dataset.feature_names[i] for i in dataset.plane)
        panel.show_boundaries(outcome.clear_boundary, outcome.fhe_boundary, outcome.circuit_inputs, axes)
        points = len(dataset.x_test)  # the bar counts the test points again, not the boundary's inputs
        panel.simulation_progress(points, points, "FHE simulation done", "test point")
        m = outcome.metrics
        self.slot.result(f"FHE simulation: {fmt_percent(m.fhe_simulated_accuracy)} accuracy, "
                         f"{fmt_percent(m.agreement_clear_simulated)} agreement with the clear model.")
        self.session.simulated(outcome.metrics, outcome.clear_boundary, outcome.fhe_boundary)

    def start_encrypted(self, n_samples: int, confirmed: bool = False) -> Optional[Task]:
        compiled, experiment = self.session.run.compiled, self.session.run.experiment
        if compiled is None:
            self.slot.hint("Compile first: the encrypted run needs the circuit.")
            return None
        if not confirmed and self._keys_need_a_yes(lambda: self.start_encrypted(n_samples, confirmed=True)):
            return None
        n_samples = max(1, min(int(n_samples), len(self.session.run.dataset.x_test)))
        job = jobs.encrypted_job(experiment.metrics, self.session.run.dataset, compiled, n_samples, self.session.run.keys)
        panel = self.views.results
        task = self.slot.start(TaskKind.ENCRYPTED, job, self._on_encrypted_message, self._on_encrypted,
                               on_failure=lambda error: panel.set_encrypted_text(f"Failed: {error.message}", finished=True),
                               on_cancel=self._on_encrypted_cancelled)
        if task is None:
            return None
        self._latencies = []
        self.slot.showPanel.emit(panel)
        panel.encrypted_started(n_samples)
        if self.session.run.keys is None:
            self.views.compile.keygen_started()
            panel.set_encrypted_text("Generating keys first (or loading them from the cache)\u2026")
        self.slot.work(f"Encrypted run on {plural(n_samples, 'test point')}\u2026")
        return task

    def _on_encrypted_cancelled(self) -> None:
        """Only key generation raises Cancelled: a cancelled run itself returns what it finished."""
        self.views.compile.keygen_finished(None, "Key generation cancelled.")
        self.views.results.set_encrypted_text("Cancelled while generating the keys: nothing ran.", finished=True)

    def _on_encrypted_message(self, message) -> None:
        if isinstance(message, jobs.KeysReady):
            self._on_keys(message.keys)
        elif isinstance(message, jobs.SampleDone):
            if message.done:
                self._latencies.append(message.seconds)
            self.views.results.show_encrypted_progress(message.done, message.total, self._latencies, message.eta_s)
            self.slot.work(f"Encrypted run: sample {message.done} of {message.total} \u00b7 {fmt_eta(message.eta_s)}")
        elif isinstance(message, jobs.Phase):
            self.slot.work(message.text + "\u2026")

    def _on_encrypted(self, outcome: jobs.EncryptedOutcome) -> None:
        m = outcome.metrics
        self.views.results.show_metrics(m)
        self.views.compile.show_latency(m.fhe_latency_s)
        done = m.fhe_executed_samples
        if outcome.cancelled:
            text = f"Cancelled after {plural(done, 'sample')}; their figures are kept."
        else:
            text = f"Done: {plural(done, 'sample')} encrypted, run and decrypted."
        self.views.results.set_encrypted_text(text, finished=True)  # its figures are in the table above
        if done:
            text += (f" Accuracy {fmt_percent(m.fhe_executed_accuracy)}, agreement with the clear model "
                     f"{fmt_percent(m.agreement_clear_executed)}, latency per sample {fmt_latency(m)}.")
        self.slot.result(text)
        self.session.ran_encrypted(m, outcome.keys, outcome.latencies_s)

    # ------------------------------------------------------------ this machine's lookup times
    def set_lookup_times(self, times: Optional[LookupTimes]) -> None:
        """This machine's lookup times (None: never measured): what the panels predict cost from."""
        self.views.config.estimate.set_times(times)
        self.views.compile.set_times(times)

    def start_calibration(self) -> Optional[Task]:
        """Time this machine's lookups (about a minute): latency and keys are then predicted."""
        panel = self.views.config.estimate
        task = self.slot.start(
            TaskKind.CALIBRATE, jobs.calibration_job(), self._on_calibration_message, self._on_calibrated,
            on_failure=lambda error: panel.measure_finished(None, f"Timing failed: {error.message}"),
            on_cancel=lambda: panel.measure_finished(None, "Timing cancelled: nothing was kept."))
        if task is not None:
            panel.measure_started()
            self.slot.work("Timing lookups of each precision on this machine (about a minute)\u2026")
        return task

    def _on_calibration_message(self, message) -> None:
        if isinstance(message, jobs.Progress):
            self.views.config.estimate.measure_progress(message.done, message.total, message.eta_s)
            self.slot.work(f"{message.text}: {fmt_progress(message.done, message.total, message.noun)} \u00b7 "
                           f"{fmt_eta(message.eta_s)}")

    def _on_calibrated(self, times: LookupTimes) -> None:
        self.views.config.estimate.measure_finished(times)
        self.set_lookup_times(times)
        self.slot.result("Lookups timed on this machine: Configure predicts latency and keys from them.")
