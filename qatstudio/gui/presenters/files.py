"""Files: importing a table into the session, opening and saving experiments, exporting the plots."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, Signal

from ...engine.pipeline import Experiment
from ...services import jobs
from ...services.experiment_file import SUFFIX, save_experiment
from ...services.formatting import fmt_eta, fmt_latency, fmt_percent, plural
from ...services.session import Session
from ...services.tabular import ImportedTable, MissingValues
from ..state import TaskKind
from ..workers import Task, TaskError
from .circuit import CircuitPresenter
from .plane import PlanePresenter
from .slot import TaskSlot, Views


@dataclass(frozen=True)
class MissingRows:
    """An import stopped at rows with missing values: what to import again without them."""

    path: Path
    label_column: str
    test_fraction: float
    error: MissingValues


class FilesPresenter(QObject):
    fileUsed = Signal(object, bool)  # Path, worth a place in File > Open Recent
    missingValues = Signal(object)  # MissingRows: ask whether to import again without them

    def __init__(self, slot: TaskSlot, session: Session, views: Views, plane: PlanePresenter,
                 circuit: CircuitPresenter, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.slot, self.session, self.views = slot, session, views
        self.plane, self.circuit = plane, circuit
        self._missing: Optional[MissingRows] = None

    # ------------------------------------------------------------ importing data
    def import_table(self, path: Path, label_column: str, test_fraction: float,
                     drop_missing: bool = False) -> Optional[Task]:
        """Read the CSV file ``path`` (classes from ``label_column``) off the GUI thread; once read,
        the Configure panel shows it (``test_fraction`` of each class held out). A file that can't
        be imported changes nothing; one with missing values is offered again (``missingValues``)."""
        path = Path(path)
        job = jobs.import_job(path, label_column, self.session.tables, drop_missing)
        task = self.slot.start(TaskKind.IMPORT, job, lambda message: self._on_import_message(message, path),
                               lambda imported: self._on_imported(imported, test_fraction),
                               on_failure=lambda error: self._on_import_failed(error, path, label_column,
                                                                               test_fraction))
        if task is not None:
            task.finished.connect(self._offer_without_missing)  # after the slot's: the window is idle again
            self.slot.work(f"Importing {path.name}\u2026")
        return task

    def import_refused(self, path: Path, message: str) -> None:
        """``path`` can't be imported, for ``message`` (found before reading it): nothing changes."""
        self.slot.problem.emit(f"Can't import {Path(path).name}", message, "")
        self.slot.hint(f"Can't import {Path(path).name}: {message}")

    def _on_import_message(self, message, path: Path) -> None:
        if isinstance(message, jobs.Progress):
            share = message.done / message.total if message.total else 0.0
            self.slot.work(f"Importing {path.name}: {fmt_percent(share)} \u00b7 {fmt_eta(message.eta_s)}")
        elif isinstance(message, jobs.Phase):
            self.slot.work(message.text + "\u2026")

    def _on_imported(self, imported: ImportedTable, test_fraction: float) -> None:
        data = imported.data_config(test_fraction, self.session.config.data.seed)
        rows = len(imported.table.labels)
        self.views.config.set_table(data, rows, imported.rows_dropped)
        dropped = (f", {plural(imported.rows_dropped, 'row')} with missing values left out" if imported.rows_dropped
                   else "")
        self.slot.result(f"Imported {imported.name}: {plural(rows, 'row')}, {plural(data.n_features, 'feature')}, "
                         f"{plural(data.n_classes, 'class', 'classes')}{dropped}. Train on it (Ctrl+T).")

    def _on_import_failed(self, error: TaskError, path: Path, label_column: str, test_fraction: float) -> bool:
        """Rows with missing values are offered to be left out (once the task has ended)."""
        if not isinstance(error.exception, MissingValues):
            return False
        self._missing = MissingRows(path, label_column, test_fraction, error.exception)
        self.slot.result(f"{path.name} has rows with missing values.")
        return True

    def _offer_without_missing(self) -> None:
        missing, self._missing = self._missing, None
        if missing is not None:
            self.missingValues.emit(missing)

    # ------------------------------------------------------------ experiments
    def open_experiment(self, path: Path) -> Optional[Task]:
        path = Path(path)
        task = self.slot.start(TaskKind.OPEN, jobs.open_job(path, self.session.tables), self.slot.on_phase,
                               self._on_opened)
        if task is not None:
            self.fileUsed.emit(path, False)
        return task

    def show_experiment(self, experiment: Experiment, path: Path) -> Optional[Task]:
        """Show ``experiment``, trained, compiled and run encrypted elsewhere (the optimizer's winner),
        as opened from its file ``path``, its circuit and encrypted figures kept."""
        return self.slot.start(TaskKind.OPEN, jobs.open_job(Path(path), self.session.tables, experiment),
                               self.slot.on_phase, self._on_opened)

    def _on_opened(self, opened: jobs.OpenedExperiment) -> None:
        experiment, dataset, v = opened.experiment, opened.dataset, self.views
        self.session.opened(experiment, dataset, opened.test_predictions, opened.path)
        if experiment.config.data.is_table:
            v.config.note_table_rows(experiment.config.data, len(dataset.y_train) + len(dataset.y_test), None)
        v.config.set_config(experiment.config)  # the panel tells the session
        v.plots.load(experiment.step_losses, experiment.history, experiment.kept_record, dataset,
                     opened.test_predictions)
        kept = experiment.kept_record
        v.controls.finish(f"Opened: kept epoch {kept.epoch if kept else '-'}"
                          f"{' (stopped early)' if experiment.cancelled else ''}.", complete=True)
        v.results.clear(len(dataset.x_test), dataset.class_names)
        v.results.show_metrics(experiment.metrics)
        v.results.set_encrypted_text("Compile again to run FHE: circuits and keys are not saved.")
        v.compile.clear("Train a model, then compile it.")
        if experiment.compiled is not None:  # compiled and run encrypted where it was made (the optimizer)
            v.compile.show_report(experiment.stats)
            v.compile.show_latency(experiment.metrics.fhe_latency_s)
            v.compile.set_status("Compiled and run encrypted by the optimizer: simulate or run it again in Results.")
            m = experiment.metrics
            v.results.set_encrypted_text(f"{plural(m.fhe_executed_samples, 'sample')} run encrypted by the optimizer, "
                                         f"latency per sample {fmt_latency(m)}.")
        elif experiment.stats is not None:
            v.compile.show_report(experiment.stats, note="as saved")
            v.compile.set_status("Compile report as saved; compile again to simulate or run encrypted.")
        elif experiment.integer_model is not None:
            self.circuit.show_estimate(experiment)
        self.fileUsed.emit(opened.path, True)
        self.slot.result(f"Opened {opened.path.name}.")
        self.plane.draw()

    def save_experiment_to(self, path: Path) -> Optional[Path]:
        experiment = self.session.run.experiment
        if experiment is None:
            self.slot.hint("Nothing to save yet: train a model first.")
            return None
        path = Path(path)
        if path.suffix != SUFFIX:
            path = path.with_name(path.name + SUFFIX)
        try:
            save_experiment(path, experiment, self.session.tables)
        except (OSError, ValueError, RuntimeError) as error:
            self.slot.problem.emit("Can't save the experiment", f"{path}: {error}", "")
            return None
        self.session.saved(path)
        self.fileUsed.emit(path, True)
        self.slot.result(f"Saved {path}.")
        return path

    def export_plots(self, path: Path) -> list[Path]:
        """The training plots to ``path``; the compile chart and the boundaries beside it when shown."""
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_name(path.name + ".png")
        written = []
        try:
            written.append(self.views.plots.export_png(path))
            for panel, suffix in ((self.views.compile, "compile"), (self.views.results, "boundaries")):
                target = panel.export_png(path.with_name(f"{path.stem}-{suffix}.png"))
                if target is not None:
                    written.append(target)
        except OSError as error:
            self.slot.problem.emit("Can't export the plots", str(error), "")
        self.fileUsed.emit(path, False)
        self.slot.result("Exported " + ", ".join(p.name for p in written) + f" to {path.parent}.")
        return written
