"""The app's colours and kind names, in one Qt-free place: the window's charts and the HTML report
both read them from here."""
from __future__ import annotations

KIND_COLORS = {"float": "#0077BB", "pruned": "#EE7733", "qat": "#009988"}  # Paul Tol's "vibrant"
KIND_NAMES = {"float": "float + 3-bit PTQ", "pruned": "pruned + PTQ", "qat": "QAT"}
OTHER_COLOR = "#777777"  # a kind without a colour of its own
FRONT_COLOR = "#1a1a1a"  # the Pareto front
CLASS_COLORS = ("#2b5fad", "#c0392b")  # test points of class 0 and class 1


def kind_name(kind: str) -> str:
    return KIND_NAMES.get(kind, kind)


def kind_color(kind: str) -> str:
    return KIND_COLORS.get(kind, OTHER_COLOR)

# Decision boundaries, P(class 1) from 0 to 1: blue (class 0), white (undecided), red (class 1).
# colorcet's CET-D1 sampled at nine even stops; the window's plots and the report interpolate these.
BOUNDARY_RAMP = ("#2151db", "#7075e2", "#a09ce8", "#c9c5ed", "#eee7ea", "#f0beb1", "#e78c77", "#d7583f", "#c00206")
