"""Reports of selected runs: one self-contained HTML file (images embedded) and JSON."""
from __future__ import annotations

import base64
import html
import json
import struct
import time
import zlib
from pathlib import Path

import numpy as np

from . import storage
from .history import RunRecord, pareto_front


def boundary_rgb(probability: np.ndarray) -> np.ndarray:
    """Class-1 probability to colours: blue (class 0) through white to red (class 1)."""
    p = np.clip(np.asarray(probability, dtype=np.float32), 0, 1)[..., None]
    blue, white, red = np.array([33, 102, 172]), np.array([247, 247, 247]), np.array([178, 24, 43])
    low = blue + (white - blue) * (p / 0.5)
    high = white + (red - white) * ((p - 0.5) / 0.5)
    return np.where(p < 0.5, low, high).astype(np.uint8)


def png_bytes(rgb: np.ndarray, scale: int = 2) -> bytes:
    """Encode an (h, w, 3) uint8 image as PNG (rows flipped so y grows upwards)."""
    image = np.repeat(np.repeat(rgb[::-1], scale, axis=0), scale, axis=1)
    height, width, _ = image.shape
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _pct(value) -> str:
    return "&ndash;" if value is None else f"{100 * value:.2f}%"


def _tradeoff_svg(records: list[RunRecord]) -> str:
    points = [(r.accumulator_bits, r.accuracy, r) for r in records if r.accumulator_bits and r.accuracy is not None]
    if not points:
        return "<p>No compiled runs to chart.</p>"
    width, height, pad = 560, 320, 44
    xs = [p[0] for p in points]
    x_lo, x_hi = min(xs) - 1, max(xs) + 1
    y_lo = min(0.5, min(p[1] for p in points))

    def sx(x):
        return pad + (x - x_lo) / (x_hi - x_lo) * (width - 2 * pad)

    def sy(y):
        return height - pad - (y - y_lo) / (1 - y_lo) * (height - 2 * pad)

    colours = {"float": "#4477aa", "pruned": "#ccbb44", "qat": "#ee6677"}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#333"/>',
             f'<text x="{width / 2}" y="{height - 8}" text-anchor="middle">accumulator bits</text>',
             f'<text x="12" y="{height / 2}" transform="rotate(-90 12 {height / 2})" text-anchor="middle">accuracy</text>']
    for bits in range(int(x_lo) + 1, int(x_hi)):
        parts.append(f'<text x="{sx(bits)}" y="{height - pad + 16}" text-anchor="middle">{bits}</text>')
    for level in np.linspace(y_lo, 1, 5):
        parts.append(f'<text x="{pad - 6}" y="{sy(level) + 4}" text-anchor="end">{100 * level:.0f}%</text>')
    front = pareto_front([(p[0], p[1]) for p in points])
    path = " ".join(f"{sx(points[i][0]):.1f},{sy(points[i][1]):.1f}" for i in front)
    parts.append(f'<polyline points="{path}" fill="none" stroke="#222" stroke-dasharray="4 3"/>')
    for bits, accuracy, record in points:
        colour = colours.get(record.config.get("kind"), "#999")
        parts.append(f'<circle cx="{sx(bits):.1f}" cy="{sy(accuracy):.1f}" r="6" fill="{colour}" fill-opacity="0.8">'
                     f"<title>{html.escape(record.label)}: {100 * accuracy:.2f}%, {bits} bits</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


def write_html_report(path: Path, records: list[RunRecord], title: str = "QAT Studio report") -> Path:
    """One HTML file, nothing else needed to open it: images are embedded as PNG data."""
    rows, sections = [], []
    for record in records:
        m = record.metrics
        rows.append(
            "<tr>" + "".join(f"<td>{cell}</td>" for cell in [
                html.escape(record.label), _pct(m.get("float_accuracy")), _pct(m.get("brevitas_accuracy")),
                _pct(m.get("clear_accuracy")), _pct(m.get("fhe_simulated_accuracy")),
                _pct(m.get("agreement_clear_simulated")),
                record.accumulator_bits if record.accumulator_bits is not None else "&ndash;",
                record.pbs_count if record.pbs_count is not None else "&ndash;",
                f"{record.fhe_latency_s:.2f} s" if record.fhe_latency_s is not None else "&ndash;",
            ]) + "</tr>"
        )
        image = ""
        if record.boundary is not None:
            encoded = base64.b64encode(png_bytes(boundary_rgb(record.boundary))).decode("ascii")
            image = f'<img alt="decision boundary" src="data:image/png;base64,{encoded}">'
        config = html.escape(json.dumps(record.config, indent=2, sort_keys=True))
        layers = ""
        if record.report:
            layers = "".join(
                f"<li>{html.escape(layer['name'])}: {layer['accumulator_bits']} bits measured, "
                f"{layer['bound_bits']} worst case, {layer['lookups']} lookups</li>"
                for layer in record.report["layers"]
            )
        sections.append(
            f'<section><h2>{html.escape(record.label)}</h2><div class="run">{image}'
            f"<div><ul>{layers}</ul><details><summary>Configuration</summary><pre>{config}</pre></details>"
            f"</div></div></section>"
        )
    document = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #bbb; padding: 4px 8px; text-align: right; }}
td:first-child {{ text-align: left; }} .run {{ display: flex; gap: 1.5em; align-items: flex-start; }}
img {{ image-rendering: pixelated; border: 1px solid #999; }}
</style></head><body>
<h1>{html.escape(title)}</h1><p>{len(records)} runs, written {time.strftime('%Y-%m-%d %H:%M')}.</p>
<table><tr><th>run</th><th>float</th><th>Brevitas</th><th>clear quantized</th><th>FHE simulated</th>
<th>clear/FHE agreement</th><th>accumulator bits</th><th>PBS</th><th>FHE latency</th></tr>
{''.join(rows)}</table>
<h2>Accuracy against accumulator bits</h2>{_tradeoff_svg(records)}
{''.join(sections)}
</body></html>
"""
    return storage.atomic_write(Path(path), lambda temp: temp.write_text(document, encoding="utf-8"), mode=0o644)


def write_json_report(path: Path, records: list[RunRecord]) -> Path:
    return storage.atomic_write_json(Path(path), {"runs": [r.to_json() for r in records]}, mode=0o644)
