"""Render resources/icons/qatstudio.svg into the PNG sizes of the hicolor icon theme.

    .venv/bin/python packaging/render_icons.py          # (re)write resources/icons/hicolor/*/apps/qatstudio.png
    .venv/bin/python packaging/render_icons.py --check  # exit 1 if a PNG is missing or differs from the SVG

Uses Qt's own SVG renderer (PySide6.QtSvg), so no extra tool is needed; runs without a display.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "qatstudio.svg"
THEME = ROOT / "resources" / "icons" / "hicolor"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def png_path(size: int) -> Path:
    return THEME / f"{size}x{size}" / "apps" / "qatstudio.png"


def render(size: int):
    """The icon at ``size`` x ``size`` pixels, as a QImage (ARGB, transparent corners)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {SVG} is not a valid SVG for Qt")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication, QImage

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (Qt wants one for fonts/images)
    stale = []
    for size in SIZES:
        image = render(size)
        path = png_path(size)
        if args.check:
            existing = QImage(str(path))
            if existing.isNull() or existing.size() != image.size() or \
                    existing.convertToFormat(image.format()) != image:
                stale.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path), "PNG"):
            raise SystemExit(f"render_icons: could not write {path}")
        print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("render_icons: out of date (run packaging/render_icons.py): "
              + ", ".join(str(p.relative_to(ROOT)) for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
