"""Reports of selected runs: one self-contained HTML file (images embedded, prints on A4) and JSON.

The HTML report uses the app's own colours (``palette``): kinds, the Pareto front, test points and
the decision-boundary ramp look as they do in the window.
"""
from __future__ import annotations

import base64
import html
import json
import math
import struct
import time
import zlib
from pathlib import Path
from typing import Optional

import numpy as np

from ..engine.data import Dataset
from . import storage
from .datasets import TableNotLoaded, TableStore
from .experiment_file import ExperimentFileError, load_table
from .formatting import (
    BOUNDARY_RAMP,
    CIRCUIT_ROWS,
    CLASS_COLORS,
    FRONT_COLOR,
    LEGEND_LOOKS,
    METRICS_BY_KEY,
    MeasureRow,
    class_shades,
    fmt_epochs,
    config_look,
    config_name,
    fmt_measure,
    fmt_percent,
    hex_rgb,
    plural,
)
from .history import RunRecord, pareto_front, shared_ceiling

TABLE_METRICS = ("float", "brevitas", "clear", "simulated", "agree_simulated")  # METRIC_ROWS keys, in order
INK, GRID, MUTED = "#222222", "#e4e4e4", "#666666"
FONT = "font-family:'DejaVu Sans',Arial,sans-serif"


def boundary_rgb(probability: np.ndarray) -> np.ndarray:
    """A boundary image to colours: class-1 probability (rows, cols) along the app's ramp
    (``BOUNDARY_RAMP``); class probabilities (rows, cols, k) as the likeliest class's colour, paler
    where it is less sure (``formatting.class_shades``)."""
    p = np.clip(np.asarray(probability, dtype=np.float64), 0, 1)
    if p.ndim == 3:
        return class_shades(p)
    ramp = hex_rgb(BOUNDARY_RAMP)
    stops = np.linspace(0.0, 1.0, len(ramp))
    channels = [np.interp(p, stops, ramp[:, channel]) for channel in range(3)]
    return np.rint(np.stack(channels, axis=-1)).astype(np.uint8)


def png_bytes(rgb: np.ndarray, scale: int = 2) -> bytes:
    """Encode an (h, w, 3) uint8 image as PNG (rows flipped so y grows upwards)."""
    image = np.repeat(np.repeat(rgb[::-1], scale, axis=0), scale, axis=1)
    height, width, _ = image.shape
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = 13, color: str = INK,
          extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{color}" '
            f'{extra}>{html.escape(text)}</text>')


def _tradeoff_svg(records: list[RunRecord], numbers: dict[str, int]) -> str:
    """Accuracy against accumulator bits: points in the kinds' colours, numbered as in the table,
    the Pareto front as a staircase, the data set's ceiling as a dashed line, a legend beside it."""
    points = [(r.accumulator_bits, r.accuracy, r) for r in records if r.accumulator_bits and r.accuracy is not None]
    if not points:
        return "<p>No compiled runs to chart.</p>"
    width, height = 760, 360
    left, right, top, bottom = 78, 230, 18, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    bits = [p[0] for p in points]
    x_lo, x_hi = min(bits) - 1, max(bits) + 1
    ceiling = shared_ceiling(records)
    lowest = min([p[1] for p in points] + ([ceiling] if ceiling is not None else []))
    step = 0.05 if lowest > 0.7 else 0.1
    y_lo = max(0.0, math.floor((lowest - 0.02) / step) * step)
    y_hi = 1.0

    def sx(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * plot_w

    def sy(y: float) -> float:
        return top + (y_hi - y) / (y_hi - y_lo) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="accuracy against accumulator bits" style="{FONT}">']
    for level in np.arange(y_lo, y_hi + step / 2, step):
        y = sy(level)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(left - 8, y + 4, f"{100 * level:.0f}%", "end"))
    for b in range(int(x_lo) + 1, int(x_hi)):
        x = sx(b)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="{GRID}"/>')
        parts.append(_text(x, top + plot_h + 18, str(b)))
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>')
    parts.append(_text(left + plot_w / 2, height - 10, "accumulator bits (cost in FHE)"))
    parts.append(_text(18, top + plot_h / 2, "accuracy", extra=f'transform="rotate(-90 18 {top + plot_h / 2:.1f})"'))

    if ceiling is not None:
        y = sy(ceiling)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{MUTED}" '
                     f'stroke-width="1.5" stroke-dasharray="6 4"/>')

    front = pareto_front([(p[0], p[1]) for p in points])
    stairs = []
    for index, i in enumerate(front):
        x, y = sx(points[i][0]), sy(points[i][1])
        if index:
            stairs.append(f"{x:.1f},{sy(points[front[index - 1]][1]):.1f}")
        stairs.append(f"{x:.1f},{y:.1f}")
    stairs.append(f"{left + plot_w:.1f},{sy(points[front[-1]][1]):.1f}")
    parts.append(f'<polyline points="{" ".join(stairs)}" fill="none" stroke="{FRONT_COLOR}" stroke-width="1.6"/>')

    labels: dict[tuple[float, float], list[str]] = {}
    for i, (b, accuracy, record) in enumerate(points):
        x, y = sx(b), sy(accuracy)
        ring = f' stroke="{FRONT_COLOR}" stroke-width="2"' if i in front else ' stroke="white" stroke-width="1.5"'
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6.5" fill="{config_look(record.config).color}"'
                     f'{ring}><title>#{numbers[record.id]} {html.escape(record.label)}: '
                     f'{fmt_percent(accuracy)}, {b} bits</title></circle>')
        labels.setdefault((round(x, 1), round(y, 1)), []).append(str(numbers[record.id]))
    for (x, y), names in labels.items():
        parts.append(_text(x + 10, y - 7, ", ".join(names), "start", 12, MUTED))

    # legend, right of the plot
    lx, ly = left + plot_w + 22, top + 12
    shown = {config_look(r.config) for r in records}
    for look in [look for look in LEGEND_LOOKS if look in shown]:
        parts.append(f'<circle cx="{lx + 6}" cy="{ly - 4}" r="6.5" fill="{look.color}"/>')
        parts.append(_text(lx + 20, ly, look.name, "start"))
        ly += 22
    ly += 6
    parts.append(f'<polyline points="{lx},{ly - 10} {lx + 7},{ly - 10} {lx + 7},{ly - 2} {lx + 14},{ly - 2}" '
                 f'fill="none" stroke="{FRONT_COLOR}" stroke-width="1.6"/>')
    parts.append(_text(lx + 20, ly, "Pareto front", "start"))
    parts.append(_text(lx + 20, ly + 15, "(no run both cheaper", "start", 11, MUTED))
    parts.append(_text(lx + 20, ly + 28, "and more accurate)", "start", 11, MUTED))
    ly += 50
    if ceiling is not None:
        parts.append(f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 14}" y2="{ly - 4}" stroke="{MUTED}" '
                     f'stroke-width="1.5" stroke-dasharray="4 3"/>')
        parts.append(_text(lx + 20, ly, f"ceiling {fmt_percent(ceiling)}", "start"))
        parts.append(_text(lx + 20, ly + 15, "(best any classifier can do)", "start", 11, MUTED))
        ly += 38
    parts.append(_text(lx, ly, "numbers: runs in the table", "start", 11, MUTED))
    parts.append("</svg>")
    return "".join(parts)


def _dataset(record: RunRecord, tables: TableStore) -> Optional[Dataset]:
    """The run's data set; a table's rows from the run's experiment file (kept in ``tables``) when
    ``tables`` doesn't hold them; None when they can't be had."""
    try:
        return tables.dataset_for(record.config.data)
    except TableNotLoaded:
        if record.experiment_path is None:
            return None
        try:
            load_table(Path(record.experiment_path), tables)
        except ExperimentFileError:
            return None
        return tables.dataset_for(record.config.data)


def _boundary_svg(record: RunRecord, tables: TableStore) -> str:
    """The decision boundary over the input square (a table's: over the plane of its first two
    features, raw values on the axes), with its axes and the test points."""
    size, left, top, bottom = 210, 44, 8, 38
    dataset = _dataset(record, tables)
    first, second = dataset.plane if dataset is not None else (0, 1)
    lo, hi = (dataset.grid.min(axis=0), dataset.grid.max(axis=0)) if dataset is not None else (np.zeros(2), np.ones(2))
    lo, hi = lo[[first, second]], hi[[first, second]]
    scaling = dataset.scaling if dataset is not None else None

    def sx(v: float) -> float:
        return left + (v - lo[0]) / (hi[0] - lo[0]) * size

    def sy(v: float) -> float:
        return top + (hi[1] - v) / (hi[1] - lo[1]) * size

    def shown(v: float, feature: int) -> str:
        return f"{v * scaling.span[feature] + scaling.low[feature]:.3g}" if scaling is not None else f"{v:g}"

    encoded = base64.b64encode(png_bytes(boundary_rgb(record.boundary))).decode("ascii")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {left + size + 8} {top + size + bottom}" '
             f'width="{left + size + 8}" height="{top + size + bottom}" role="img" '
             f'aria-label="decision boundary" style="{FONT}">',
             f'<image x="{left}" y="{top}" width="{size}" height="{size}" preserveAspectRatio="none" '
             f'style="image-rendering:pixelated" href="data:image/png;base64,{encoded}"/>']
    test = (zip(dataset.x_test[:, first], dataset.x_test[:, second], dataset.y_test)
            if dataset is not None and first != second else ())
    for x, y, label in test:
        parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.6" fill="{CLASS_COLORS[int(label)]}" '
                     f'stroke="white" stroke-width="0.8"/>')
    parts.append(f'<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="none" stroke="#888"/>')
    for fraction in (0.0, 0.5, 1.0):
        vx = lo[0] + fraction * (hi[0] - lo[0])
        vy = lo[1] + fraction * (hi[1] - lo[1])
        parts.append(f'<line x1="{sx(vx):.1f}" y1="{top + size}" x2="{sx(vx):.1f}" y2="{top + size + 4}" '
                     'stroke="#888"/>')
        parts.append(_text(sx(vx), top + size + 16, shown(vx, first), size=12))
        parts.append(f'<line x1="{left - 4}" y1="{sy(vy):.1f}" x2="{left}" y2="{sy(vy):.1f}" stroke="#888"/>')
        parts.append(_text(left - 6, sy(vy) + 4, shown(vy, second), "end", 12))
    names = (dataset.feature_names[first], dataset.feature_names[second]) \
        if dataset is not None and record.config.data.is_table else ("x\u2081", "x\u2082")
    parts.append(_text(left + size / 2, top + size + 34, names[0]))
    parts.append(_text(9, top + size / 2 + 4, names[1]))
    parts.append("</svg>")
    return "".join(parts)


def _ramp_css() -> str:
    return "linear-gradient(to right, " + ", ".join(BOUNDARY_RAMP) + ")"


def _config_line(record: RunRecord) -> str:
    """What the card's title doesn't say already: the layers and epochs (and the configuration's name
    when the run has a label of its own)."""
    config = record.config
    name = config_name(config)
    line = f"{plural(config.n_layers, 'hidden layer')}, {fmt_epochs(config)}"
    return line if record.label.startswith(name) else f"{name}; {line}"


def _card(record: RunRecord, number: int, tables: TableStore) -> str:
    m = record.metrics
    image = _boundary_svg(record, tables) if record.boundary is not None else '<p class="muted">no boundary kept</p>'
    figures = [("Accuracy", fmt_percent(record.accuracy))]
    if m.ceiling_accuracy is not None:
        figures.append((METRICS_BY_KEY["ceiling"].label, fmt_percent(m.ceiling_accuracy)))
    if record.stats:
        figures += [(row.label, fmt_measure(row, record.figure(row))) for row in CIRCUIT_ROWS]
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in figures)
    layers = ""
    if record.stats:
        layers = "<ul>" + "".join(
            f"<li>{html.escape(layer.name)}: {layer.accumulator_bits} bits "
            f"(worst case {layer.bound_bits}), {layer.lookups} lookups</li>"
            for layer in record.stats.layers) + "</ul>"
    config = html.escape(json.dumps(record.config.to_dict(), indent=2, sort_keys=True))
    color = config_look(record.config).color
    return (f'<section class="card" style="border-top-color:{color}">'
            f'<h3><span class="num">{number}</span> {html.escape(record.label)}</h3>'
            f'<p class="muted">{html.escape(_config_line(record))}</p>'
            f'<div class="run">{image}<div><table class="figures">{rows}</table>{layers}</div></div>'
            f"<details><summary>Configuration</summary><pre>{config}</pre></details></section>")


def table_columns(records: list[RunRecord]) -> tuple[list[MeasureRow], list[MeasureRow]]:
    """The runs table's measures: those some run has a value for, and those none has (left out of
    the table, and named under it with what they measure)."""
    rows = [METRICS_BY_KEY[key] for key in TABLE_METRICS + ("ceiling",)] + list(CIRCUIT_ROWS)
    rows += [METRICS_BY_KEY["latency"], METRICS_BY_KEY["warmup"]]  # the steady state, the warm-up apart
    shown = [row for row in rows if any(record.figure(row) is not None for record in records)]
    return shown, [row for row in rows if row not in shown]


def _left_out(empty: list[MeasureRow]) -> str:
    """Why columns are missing: the measures no run has, each with what it measures."""
    if not empty:
        return ""
    items = "".join(f"<li><b>{html.escape(row.label)}</b>: {html.escape(row.tip)}</li>" for row in empty)
    return f'<p class="muted">Not in the table, because no run here has them:</p><ul class="muted">{items}</ul>'


def _skipped(skipped: list[str]) -> str:
    """The combinations a sweep did not run, each with its reason."""
    if not skipped:
        return ""
    items = "".join(f"<li>{html.escape(reason)}</li>" for reason in skipped)
    return (f'<h2>Combinations skipped</h2><p class="muted">The sweep did not run '
            f"{plural(len(skipped), 'combination')}:</p><ul>{items}</ul>")


def write_html_report(path: Path, records: list[RunRecord], title: str = "QAT Studio report",
                      skipped: Optional[list[str]] = None, tables: Optional[TableStore] = None) -> Path:
    """One HTML file, nothing else needed to open or print it: images and charts are embedded.
    ``skipped``: the combinations a sweep left out, with their reasons (``SweepResult.skipped``).
    A table's rows, for its runs' boundaries, come from ``tables`` or else from the runs' files
    (kept in ``tables``; without it, in a store of the report's own)."""
    tables = tables if tables is not None else TableStore()
    numbers = {record.id: index for index, record in enumerate(records, start=1)}
    front_ids = set()
    charted = [r for r in records if r.accumulator_bits and r.accuracy is not None]
    if charted:
        front_ids = {charted[i].id for i in pareto_front([(r.accumulator_bits, r.accuracy) for r in charted])}
    columns, empty = table_columns(records)
    headers = ["#", "Run"] + [row.label for row in columns]
    rows = []
    for record in records:
        dot = f'<span class="dot" style="background:{config_look(record.config).color}"></span>'
        star = ' <span title="on the Pareto front">\u2605</span>' if record.id in front_ids else ""
        cells = [str(numbers[record.id]), f"{dot}{html.escape(record.label)}{star}"]
        cells += [fmt_measure(row, record.figure(row)) for row in columns]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    cards = "".join(_card(r, numbers[r.id], tables) for r in records)
    n_classes = max(record.config.data.n_classes for record in records) if records else 2
    class_keys = "".join(f'<span class="dot" style="background:{c}"></span>class {i} &nbsp; '
                         for i, c in enumerate(CLASS_COLORS[:n_classes]))
    document = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{html.escape(title)}</title>
<style>
body {{ {FONT}; color: {INK}; margin: 2em auto; max-width: 1120px; padding: 0 1.5em; line-height: 1.35; }}
h1 {{ margin-bottom: 0.2em; }} h2 {{ margin-top: 1.6em; }}
.muted {{ color: {MUTED}; }}
table.runs {{ border-collapse: collapse; font-size: 0.92em; }}
table.runs th, table.runs td {{ border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: right; }}
table.runs th {{ border-bottom: 2px solid #999; vertical-align: bottom; }}
table.runs td:nth-child(2), table.runs th:nth-child(2) {{ text-align: left; }}
table.runs td:nth-child(2) {{ min-width: 14em; }}  /* long run names wrap: the table keeps to the page */
.dot {{ display: inline-block; width: 0.75em; height: 0.75em; border-radius: 50%; margin-right: 0.4em;
        vertical-align: baseline; -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
svg {{ max-width: 100%; height: auto; }}
.cards {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(500px, 1fr)); gap: 1em; }}
.card {{ border: 1px solid #ddd; border-top: 4px solid; border-radius: 4px; padding: 0.4em 0.9em 0.6em; }}
.card h3 {{ margin: 0.3em 0 0; font-size: 1.05em; }} .card p {{ margin: 0.2em 0 0.5em; font-size: 0.9em; }}
.num {{ display: inline-block; min-width: 1.4em; text-align: center; background: #eee; border-radius: 3px; }}
.run {{ display: flex; gap: 1em; align-items: flex-start; }}
.run ul {{ padding-left: 1.1em; margin: 0.4em 0; font-size: 0.88em; }}
table.figures th {{ text-align: left; font-weight: normal; color: {MUTED}; padding-right: 0.8em; }}
table.figures td {{ font-weight: bold; }}
.ramp {{ display: inline-block; width: 9em; height: 0.8em; vertical-align: middle; background: {_ramp_css()};
         border: 1px solid #999; -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
details pre {{ font-size: 0.8em; }}
@page {{ size: A4; margin: 12mm; }}
@media print {{
  body {{ margin: 0; max-width: none; padding: 0; font-size: 9pt; }}
  h1 {{ font-size: 16pt; }} h2 {{ font-size: 12pt; break-after: avoid; }}
  table.runs {{ font-size: 8pt; }} table.runs th, table.runs td {{ padding: 2px 4px; }}
  .chart, .card, tr {{ break-inside: avoid; }}
  h2.boundaries {{ break-before: page; }}
  .cards {{ grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 3mm; }}
  .card {{ padding: 1mm 2mm 2mm; }} .card h3 {{ font-size: 9pt; }} .card p {{ font-size: 7.5pt; }}
  .run {{ display: block; }} .run svg {{ width: 100%; }} .run ul {{ font-size: 7.5pt; }}
  details {{ display: none; }}
  svg, .card {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
}}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="muted">{plural(len(records), 'run')}, written {time.strftime('%Y-%m-%d %H:%M')}
by QAT Studio. Accuracies are on the test points; the FHE figures come from Concrete's simulation of the
compiled circuit.</p>
<table class="runs"><tr>{''.join(f'<th>{h}</th>' for h in headers)}</tr>
{''.join(rows)}</table>
<p class="muted">\u2605 on the Pareto front: no other run is as accurate with fewer accumulator bits, or more
accurate with as few (of runs equal on both, the first).</p>
{_left_out(empty)}{_skipped(skipped or [])}
<h2>Accuracy against accumulator bits</h2>
<div class="chart">{_tradeoff_svg(records, numbers)}</div>
<h2 class="boundaries">Decision boundaries</h2>
<p class="muted">P(class 1): 0 <span class="ramp"></span> 1 &nbsp;&nbsp; test points: {class_keys}</p>
<div class="cards">{cards}</div>
</body></html>
"""
    return storage.atomic_write(Path(path), lambda temp: temp.write_text(document, encoding="utf-8"), mode=0o644)


def write_json_report(path: Path, records: list[RunRecord], skipped: Optional[list[str]] = None) -> Path:
    values = {"runs": [r.to_json() for r in records], **({"skipped": list(skipped)} if skipped else {})}
    return storage.atomic_write_json(Path(path), values, mode=0o644)


def write_reports(path: Path, records: list[RunRecord], tables: TableStore) -> list[Path]:
    """``records``, oldest first, as ``path`` (.html added when missing) and the same name in .json
    (a table's rows from ``tables``, or else from the runs' files, kept there)."""
    records = sorted(records, key=lambda record: record.created)
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        path = path.with_name(path.name + ".html")
    return [write_html_report(path, records, tables=tables), write_json_report(path.with_suffix(".json"), records)]
