"""The Deploy panel: side by side, what the client and the server each see while test points go
encrypted through a local server (a child process the controller runs)."""
from __future__ import annotations

import statistics
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...services import jobs
from ...services.formatting import fmt_bytes, fmt_key_bytes, fmt_percent, fmt_seconds, plural
from ..state import Enabled

DEFAULT_POINTS = 5
SPLIT = ("encrypt", "upload", "server", "download", "decrypt")
SIDE_BY_SIDE_PX = 640  # wider than this (on stage) the client's and the server's sides stand side by side
# What the panel says before its first run, with a compiled circuit or without one.
WAITING = {True: "Send test points through a local server: it computes on them encrypted and never sees them.",
           False: "Compile a model first (Compile tab): the server runs the compiled circuit."}


def _wrapped(name: str, text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(True)
    return label


class DeployPanel(QWidget):
    """Before a run: what to do. During and after one: the client's side (points, classes, agreement)
    and the server's (ciphertext sizes and bytes, its keys), one above the other in a dock, side by
    side on stage. A run of a circuit the window no longer holds (retrained, reopened) is cleared."""

    sendRequested = Signal(int)  # number of test points
    stopServerRequested = Signal()
    cancelRequested = Signal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        row = QHBoxLayout()
        self.send_button = QPushButton("Send through a local server")
        self.send_button.setToolTip("Export the circuit, start 'qatstudio serve' in a child process on "
                                    "127.0.0.1, and classify test points there, encrypted.")
        self.send_button.clicked.connect(lambda: self.sendRequested.emit(self.points.value()))
        self.points = QSpinBox()
        self.points.setRange(1, 200)
        self.points.setValue(DEFAULT_POINTS)
        self.points.setSuffix(" points")
        self.points.setToolTip("How many test points to send (the first ones of the test set).")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.stop_button = QPushButton("Stop server")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stopServerRequested)
        row.addWidget(self.send_button)
        row.addWidget(self.points)
        row.addStretch(1)
        layout.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.cancel_button)
        row.addWidget(self.stop_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.hide()  # until a run: an idle bar reads as a text field
        layout.addWidget(self.progress)
        self.status = _wrapped("deployStatus", WAITING[False])
        layout.addWidget(self.status)

        client_box = QGroupBox("What the client sees")
        client_box.setToolTip("This side holds the secret key: it encrypts the points and decrypts the answers.")
        box = QVBoxLayout(client_box)
        self.client_table = QTableWidget(0, 3)
        self.client_table.setObjectName("clientTable")
        self.client_table.setHorizontalHeaderLabels(["point", "FHE", "clear"])
        self.client_table.horizontalHeaderItem(1).setToolTip("The class decrypted from the server's answer.")
        self.client_table.horizontalHeaderItem(2).setToolTip("The class of the same model run in the clear.")
        self.client_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.client_table.verticalHeader().setVisible(False)
        # rows as tall as their text: Qt's default 30 px left 4 of 5 points in sight on a 720 px stage
        self.client_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header = self.client_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # the point takes what the classes leave
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        box.addWidget(self.client_table)
        self.client_summary = _wrapped("clientSummary")
        box.addWidget(self.client_summary)

        server_box = QGroupBox("What the server sees")
        server_box.setToolTip("This side holds evaluation keys and ciphertexts only: no secret key, no point.")
        box = QVBoxLayout(server_box)
        self.server_table = QTableWidget(0, 2)
        self.server_table.setObjectName("serverTable")
        self.server_table.setHorizontalHeaderLabels(["received", "sent back"])
        self.server_table.setToolTip("Sizes of the ciphertexts the server received and sent back, per point.")
        self.server_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.server_table.verticalHeader().setVisible(False)
        self.server_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.server_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        box.addWidget(self.server_table)
        self.server_bytes = _wrapped("serverBytes")
        mono = QFont()  # the family only: the size follows the window (presentation mode enlarges it)
        mono.setFamily(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family())
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.server_bytes.setFont(mono)
        self.server_bytes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.server_bytes)
        self.server_summary = _wrapped("serverSummary")
        box.addWidget(self.server_summary)

        self.results = QWidget()  # the run's: hidden before the first one
        column = QVBoxLayout(self.results)
        column.setContentsMargins(0, 0, 0, 0)
        self.sides = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.sides.addWidget(client_box, 1)
        self.sides.addWidget(server_box, 1)
        column.addLayout(self.sides, 1)
        self.latency = _wrapped("deployLatency")
        font = QFont()
        font.setBold(True)
        self.agreement = _wrapped("deployAgreement")
        self.agreement.setFont(font)
        column.addWidget(self.latency)
        column.addWidget(self.agreement)
        layout.addWidget(self.results, 1)
        self.results.hide()
        layout.addStretch(0)
        self._samples: list[jobs.DeployedSample] = []
        self._ran = False  # a run started since the panel was last cleared

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        wide = self.width() > SIDE_BY_SIDE_PX
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self.sides.direction() != direction:
            self.sides.setDirection(direction)

    def clear(self, compiled: bool = False) -> None:
        """Back to before any run: what to do (``compiled``: a circuit to send points through)."""
        self._ran = False
        self._samples = []
        self.client_table.setRowCount(0)
        self.server_table.setRowCount(0)
        for label in (self.client_summary, self.server_summary, self.server_bytes, self.latency, self.agreement):
            label.setText("")
        self.results.hide()
        self.progress.hide()
        self.status.setText(WAITING[compiled])

    # --- the run
    def started(self, total: int) -> None:
        self.clear(compiled=True)
        self._ran = True
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.progress.show()
        self.results.show()

    def show_phase(self, text: str) -> None:
        self.status.setText(text + "\u2026")

    def add_sample(self, sample: jobs.DeployedSample) -> None:
        self._samples.append(sample)
        prediction, t = sample.prediction, sample.prediction.timing
        row = self.client_table.rowCount()
        self.client_table.insertRow(row)
        point = ", ".join(f"{value:.2f}" for value in prediction.point)
        for column, text in enumerate((point, str(prediction.label), str(sample.clear_label))):
            self.client_table.setItem(row, column, QTableWidgetItem(text))
        self.server_table.insertRow(row)
        for column, size in enumerate((t.sent_bytes, t.received_bytes)):
            self.server_table.setItem(row, column, QTableWidgetItem(fmt_bytes(size)))
        self.progress.setValue(sample.done)
        self.status.setText(f"Point {sample.done} of {sample.total} classified encrypted.")
        self._show_latency()

    def _show_latency(self) -> None:
        split = [(t.encrypt_s, t.upload_s, t.server_s, t.download_s, t.decrypt_s)
                 for t in (s.prediction.timing for s in self._samples)]
        medians = [statistics.median(column) for column in zip(*split)]
        self.latency.setText("Median per point: " + ", ".join(
            f"{name} {fmt_seconds(value)}" for name, value in zip(SPLIT, medians)))
        agree = sum(s.prediction.label == s.clear_label for s in self._samples) / len(self._samples)
        self.agreement.setText(f"Agreement with the clear model: {fmt_percent(agree)} "
                               f"({plural(len(self._samples), 'point')})")

    def finished(self, outcome: jobs.DeployOutcome) -> None:
        done = len(outcome.predictions)
        self.status.setText(f"{plural(done, 'point')} classified by the server at {outcome.url}, which never held "
                            f"the secret key." if done else "Cancelled before the first point.")
        uploaded = (f"evaluation keys uploaded once: {fmt_key_bytes(outcome.uploaded_bytes, compressed=True)}"
                    if outcome.uploaded_bytes
                    else "evaluation keys: already on the server")
        keys = [p for p in outcome.observed if p["kind"] == "evaluation keys"]
        size = fmt_key_bytes(keys[-1]["bytes"], compressed=True) if keys else "-"
        self.client_summary.setText(f"Secret key kept on this machine; {uploaded}.")
        self.server_summary.setText(f"Holds evaluation keys ({size}, key id {outcome.key_id[:12]}\u2026) and "
                                    f"ciphertexts; it can compute on them, not read them.")
        incoming = [p for p in outcome.observed if p["kind"] == "ciphertext in"]
        if incoming:
            self.server_bytes.setText(f"A few bytes of the last ciphertext received ({fmt_bytes(incoming[-1]['bytes'])}):\n"
                                      + _hex_bytes(incoming[-1]["sample_hex"]))

    def failed(self, text: str) -> None:
        self.status.setText(text)

    def apply(self, enabled: Enabled) -> None:
        if not self._ran or (not enabled.busy and not enabled.deploy):  # no run, or one of a circuit now gone
            self.clear(compiled=enabled.deploy)
        self.send_button.setEnabled(enabled.deploy)
        self.cancel_button.setEnabled(enabled.cancel_deploy)
        self.stop_button.setEnabled(enabled.stop_server)

    def server_stopped(self) -> None:
        self.status.setText("Server stopped.")

    def set_points_wanted(self, n: int) -> None:
        self.points.setValue(n)

    def texts(self) -> dict[str, str]:
        """What the panel says, by part: status, client, server, bytes (of a ciphertext), latency, agreement."""
        return {"status": self.status.text(), "client": self.client_summary.text(),
                "server": self.server_summary.text(), "bytes": self.server_bytes.text(),
                "latency": self.latency.text(), "agreement": self.agreement.text()}

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """Each point sent: (point, FHE class, clear class) as the client sees it, then the bytes the
        server (received, sent back)."""
        client, server = self.client_table, self.server_table
        return [tuple(client.item(r, c).text() for c in range(3)) + tuple(server.item(r, c).text() for c in range(2))
                for r in range(client.rowCount())]


def _hex_bytes(hex_text: str) -> str:
    """'9b 6f 0f ...' on one line that the label wraps where it must (two fixed lines of 8 made the
    server's side taller than the client's, and its table scrolled on a 720 px stage)."""
    return " ".join(f"{byte:02x}" for byte in bytes.fromhex(hex_text))
