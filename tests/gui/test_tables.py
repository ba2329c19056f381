"""A table of the user's own in the window: File > Import data, its summary in the Configure panel,
training on it, the plane of two of its features, the per-class results; and bad files, which
change nothing. Real files, real models (no mocks)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QMessageBox

from qatstudio.engine.config import TABLE, ModelKind
from qatstudio.engine.evaluate import Metrics
from qatstudio.gui.panels.results_panel import ResultsPanel
from qatstudio.services import tabular
from qatstudio.services.formatting import CLASS_COLORS

from .conftest import small_config

SPECIES = ("setosa", "versicolor", "virginica")
IMPORT = "Importing data"


def write_csv(path: Path, rows: int = 300, features: int = 5, seed: int = 0, blanks: int = 0) -> Path:
    """A CSV of ``features`` numeric columns and a 'species' label column (three classes, in words)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)) + 1.5 * np.arange(rows)[:, None] % 3
    labels = [SPECIES[i % 3] for i in range(rows)]
    lines = [",".join([f"f{i}" for i in range(features)] + ["species"])]
    for row in range(rows):
        cells = [f"{value:.4f}" for value in x[row]]
        if row < blanks:
            cells[row % features] = ""
        lines.append(",".join(cells + [labels[row]]))
    path.write_text("\n".join(lines) + "\n")
    return path


def import_csv(qtbot, window, path: Path, label: str = "species", share: float = 20) -> Optional[str]:
    """Import ``path`` as a user does (the dialog's label column and test share set); returns the
    import's outcome, or None when the file was refused before the dialog."""
    files = window.files
    files.import_settings = None
    files.import_file(path)
    dialog = files.import_settings
    if dialog is None:
        return None
    assert dialog.label_column() == tabular.suggest_label(tabular.peek_columns(path))
    dialog.label.setCurrentText(label)
    dialog.test_share.setValue(share)
    with qtbot.waitSignal(window.taskFinished, timeout=60_000,
                          check_params_cb=lambda task, outcome: task == IMPORT) as blocker:
        dialog.accept()
    return blocker.args[1]


def test_import_a_table_train_it_and_look_at_another_plane(qtbot, window, run, tmp_path, settings):
    path = write_csv(tmp_path / "flowers.csv")
    assert import_csv(qtbot, window, path, share=25) == "succeeded"
    assert settings.value("last_import_dir") == str(tmp_path)  # the next import starts here
    panel = window.config_panel
    data = panel.config().data
    assert data.is_table and (data.table_name, data.label_column) == ("flowers.csv", "species")
    assert (data.n_features, data.n_classes, data.test_fraction) == (5, 3, 0.25)
    assert panel.picker.currentData() == TABLE and "flowers.csv" in panel.picker.currentText()
    summary = panel.table_summary.text()
    assert all(words in summary for words in ("flowers.csv", "300 rows", "5 feature", "3 classes", "species"))
    assert panel.test_share.isVisibleTo(panel) and panel.test_share.value() == 25
    assert not panel.noise.isVisibleTo(panel) and not panel.preview.isVisibleTo(panel)
    assert window.session.run.experiment is None  # importing changes the configuration, not the results

    panel.set_config(small_config(kind=ModelKind.FLOAT, pruning_budget=None, epochs=1, n_hidden=16,
                                  data=dict(shape=TABLE, table_name=data.table_name, table_sha256=data.table_sha256,
                                            table_bytes=data.table_bytes, label_column="species",
                                            test_fraction=0.25, n_features=5, n_classes=3)))
    assert run(lambda: qtbot.mouseClick(window.train_button, Qt.MouseButton.LeftButton), "Training") == "succeeded"
    plots, dataset = window.plots, window.session.run.dataset
    assert [label.text for _, label in plots.boundary_legend.items] == [*SPECIES, "misclassified"]
    assert plots.ceiling() is None and window.results_panel.value("ceiling") == "-"  # no rule, no ceiling
    assert plots.plane_chooser.isVisible() and plots.plane() == (0, 1)
    assert len(window.results_panel.class_cells()) == 3

    before = plots.boundary_map.image.image.copy()
    chooser = plots.plane_chooser
    chooser.x_box.setCurrentIndex(3)
    chooser.x_box.activated.emit(3)
    chooser.y_box.setCurrentIndex(4)
    chooser.y_box.activated.emit(4)
    qtbot.waitUntil(lambda: plots.plane() == (3, 4) and window.session.run.dataset.plane == (3, 4), timeout=30_000)
    assert not np.array_equal(plots.boundary_map.image.image, before)
    assert plots.boundary_plot.getAxis("bottom").labelText == "f3" and "f3 and f4" in window.status_text()
    assert window.session.run.dataset.feature_names == dataset.feature_names

    index = panel.picker.findData("circle")  # a shape and back: the table is still offered
    panel.picker.setCurrentIndex(index)
    panel.picker.activated.emit(index)
    assert panel.config().data.shape == "circle" and panel.noise.isVisibleTo(panel)
    index = panel.picker.findData(TABLE)
    panel.picker.setCurrentIndex(index)
    panel.picker.activated.emit(index)
    assert panel.config().data == window.session.run.experiment.config.data


BAD_FILES = {
    "empty.csv": "",
    "header-only.csv": "a,b,species\n",
    "words.csv": "a,b,species\n1,x,setosa\n2,y,virginica\n3,z,setosa\n",
    "one-class.csv": "a,b,species\n1,2,setosa\n3,4,setosa\n5,6,setosa\n",
    "latin1.csv": "a,b,esp\u00e8ce\n1,2,\u00e9t\u00e9\n3,4,hiver\n".encode("latin-1"),
}


def test_the_import_dialog_shows_the_first_rows_and_marks_the_label_column(qtbot, window, tmp_path):
    """Before choosing the label column the user sees the first rows as written, the label's column
    marked; the title is not cut (the dialog is wider than it)."""
    from qatstudio.services.paths import examples_dir

    path = examples_dir() / "machines.csv"
    window.files.import_file(path)
    dialog = window.files.import_settings
    dialog.show()
    qtbot.waitExposed(dialog)
    try:
        lines = path.read_text().splitlines()
        assert dialog.rows.horizontalHeaderItem(0).text() == lines[0].split(",")[0]
        assert dialog.shown_rows() == [line.split(",") for line in lines[1 : 1 + tabular.PEEK_ROWS]]
        assert dialog.rows.editTriggers() == dialog.rows.EditTrigger.NoEditTriggers  # read-only
        assert f"first {tabular.PEEK_ROWS} rows of" in dialog.rows_caption.text()
        label = dialog.label.currentIndex()
        assert dialog.label_column() == "fault" and dialog.rows.horizontalHeaderItem(label).font().bold()
        dialog.label.setCurrentIndex(0)  # another label column: the mark follows
        assert dialog.rows.horizontalHeaderItem(0).font().bold()
        assert not dialog.rows.horizontalHeaderItem(label).font().bold()
        assert dialog.width() >= dialog.fontMetrics().horizontalAdvance(dialog.windowTitle()) + 150
    finally:
        dialog.reject()
    short = tmp_path / "short.csv"
    short.write_text("a;b;kind\n1,5;2;x\n3;4;y\n")  # semicolons, decimal commas: the cells as written
    window.files.import_file(short)
    dialog = window.files.import_settings
    assert dialog.shown_rows() == [["1,5", "2", "x"], ["3", "4", "y"]] and "first 2 rows" in dialog.rows_caption.text()
    dialog.reject()
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,kind\n1,2,x\n3,y\n")
    window.files.import_file(ragged)
    dialog = window.files.import_settings
    assert dialog.shown_rows() == [] and "can't be shown" in dialog.rows_caption.text()  # the import says why
    dialog.reject()


def test_import_starts_in_the_examples_then_where_the_user_went(qtbot, window, settings, tmp_path):
    from qatstudio.services.paths import examples_dir

    assert window.files.import_folder() == str(examples_dir())  # nothing picked yet: the shipped examples
    path = write_csv(tmp_path / "mine.csv", rows=20)
    window.files.import_file(path)
    window.files.import_settings.reject()
    assert window.files.import_folder() == str(tmp_path)  # remembered, even across sessions
    assert settings.value("last_import_dir") == str(tmp_path)


def test_bad_files_change_nothing(qtbot, window, run, tmp_path):
    config = small_config(epochs=1)
    window.config_panel.set_config(config)
    assert run(window.train_action.trigger, "Training") == "succeeded"
    experiment = window.session.run.experiment
    for name, content in BAD_FILES.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        window.banner.hide()
        label = "esp\u00e8ce" if name == "latin1.csv" else "species"
        assert import_csv(qtbot, window, path, label=label) in (None, "failed"), name  # refused, or failed reading
        assert window.banner.level == "error" and window.banner.message().startswith("Can't import"), name
        assert "Traceback" not in window.banner.message() and "bug report" not in window.banner.message(), name
        assert window.config_panel.config() == config, name
        assert window.session.run.experiment is experiment and not window.is_busy(), name
        assert window.config_panel.picker.findData(TABLE) < 0, name  # nothing imported is offered


def test_missing_values_are_offered_to_be_left_out(qtbot, window, tmp_path):
    path = write_csv(tmp_path / "gaps.csv", rows=60, blanks=2)
    assert import_csv(qtbot, window, path) == "failed"
    qtbot.waitUntil(lambda: window.files.missing_question is not None, timeout=5_000)
    question = window.files.missing_question
    assert "2 missing values in 2 rows" in question.text() and "line 2" in question.text()
    assert not window.banner.message()  # a question, not an error
    with qtbot.waitSignal(window.taskFinished, timeout=60_000,
                          check_params_cb=lambda task, outcome: task == IMPORT) as blocker:
        qtbot.mouseClick(question.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    assert blocker.args[1] == "succeeded"
    assert "58 rows" in window.config_panel.table_summary.text()
    assert "2 with missing values left out" in window.config_panel.table_summary.text()


def test_results_show_each_class_and_the_confusion_matrix(qtbot):
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.clear(30, SPECIES)
    panel.show()
    assert panel.class_cells() == []  # nothing measured yet
    confusion = [[9, 1, 0], [2, 8, 0], [0, 0, 10]]
    panel.show_metrics(Metrics(clear_accuracy=27 / 30, class_accuracy=[0.9, 0.8, 1.0], confusion=confusion))
    assert panel.class_cells() == [["9", "1", "0", "90.00%"], ["2", "8", "0", "80.00%"], ["0", "0", "10", "100.00%"]]
    headers = [panel.classes.horizontalHeaderItem(i).text() for i in range(4)]
    assert headers == [*SPECIES, "accuracy"]
    assert [panel.classes.verticalHeaderItem(i).text() for i in range(3)] == list(SPECIES)  # rows: the true class
    panel.show_metrics(Metrics(clear_accuracy=0.5))  # an experiment saved before the per-class figures
    assert panel.class_cells() == []

    # The clear and FHE boundaries: each class in its colour.
    classes = np.zeros((100, 100), dtype=np.int64)
    classes[:, 40:70], classes[:, 70:] = 1, 2
    panel.show_boundaries(classes, classes, 7, ("f3", "f4"))
    qtbot.wait(50)
    for label, x in enumerate((0.2, 0.55, 0.85)):
        point = panel.boundaries.mapFromScene(panel.fhe_plot.getViewBox().mapViewToScene(QPointF(x, 0.5)))
        assert panel.boundaries.grab().toImage().pixelColor(point).name() == CLASS_COLORS[label].lower()
    assert "over f3 \u00d7 f4" in panel.boundary_note.text() and "identical" in panel.boundary_note.text()


def test_the_compile_panel_says_when_a_layer_is_sized_by_its_bound(qtbot):
    """Ten features at 3 bits are 8^10 inputs: too many to measure, so the bars are the bounds."""
    from qatstudio.engine.integer import IntegerLayer, IntegerMLP
    from qatstudio.gui.panels.compile_panel import MEASURED_LABEL, CompilePanel

    panel = CompilePanel()
    qtbot.addWidget(panel)

    def model(n_features: int) -> IntegerMLP:
        weights = np.ones((n_features, 1), dtype=np.int64)
        layer = IntegerLayer("out", weights, None, 0, 7 * n_features, 0, 7 * n_features)
        return IntegerMLP(0.1, 0, 7, np.zeros(n_features, np.int64), np.full(n_features, 7), [layer],
                          np.ones(1), np.zeros(1))

    panel.show_estimate(model(10))
    assert panel.legend.getLabel(panel.measured_bars).text == MEASURED_LABEL[False] == "sized by the bound"
    panel.show_estimate(model(2))
    assert panel.legend.getLabel(panel.measured_bars).text == MEASURED_LABEL[True]
