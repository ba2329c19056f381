"""Data sets: generated 2D shapes (the guide's checkerboard first) and tables of the user's own.

Every generated shape labels clean points with its rule, then jitters them; the rule applied to the
jittered test points gives the ceiling, the best accuracy any classifier can reach on them. A table
(already read from its file by the services) is split per class and scaled to [0, 1] per feature
from its training rows, in the clear, on the client's side.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Optional

import numpy as np

from .config import ConfigError, DataConfig

BOUNDARY_GRID = 100  # points per axis where decision boundaries are evaluated
CALIBRATION_ROWS = 20_000  # at most this many training rows choose the input step


@dataclass(frozen=True)
class Table:
    """The user's rows, read and checked by the services: numbers only, classes as indices."""

    features: np.ndarray  # (n, d) float64
    labels: np.ndarray  # (n,) int64 in [0, len(class_names))
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]


@dataclass(frozen=True)
class Scaling:
    """Raw features to the model's [0, 1]: (x - low) / span, from the training rows."""

    low: np.ndarray  # (d,) float64
    span: np.ndarray  # (d,) float64, never 0

    def apply(self, raw: np.ndarray) -> np.ndarray:
        return ((np.asarray(raw, dtype=np.float64) - self.low) / self.span).astype(np.float32)

    def invert(self, scaled: np.ndarray) -> np.ndarray:
        return np.asarray(scaled, dtype=np.float64) * self.span + self.low

    @classmethod
    def identity(cls, n_features: int) -> "Scaling":
        return cls(np.zeros(n_features), np.ones(n_features))

    def to_dict(self) -> dict:
        return {"low": self.low.tolist(), "span": self.span.tolist()}

    @classmethod
    def from_dict(cls, values: dict) -> "Scaling":
        return cls(np.asarray(values["low"], dtype=np.float64), np.asarray(values["span"], dtype=np.float64))


@dataclass(frozen=True)
class Dataset:
    x_train: np.ndarray  # (n, d) float32, in the model's [0, 1] space
    y_train: np.ndarray  # (n,) int64
    x_test: np.ndarray
    y_test: np.ndarray
    x_val: np.ndarray  # held out of the training points: what the recipe chooses by
    y_val: np.ndarray
    # The boundary's plane: BOUNDARY_GRID**2 points, row-major over (y, x), varying the plane's two
    # features over [0, 1] with every other feature at its training median.
    grid: np.ndarray
    grid_shape: tuple[int, int]
    # The best accuracy any classifier can reach on the test points (None for a table: no rule known).
    ceiling_accuracy: Optional[float]
    feature_names: tuple[str, ...] = ("x1", "x2")
    class_names: tuple[str, ...] = ("0", "1")
    scaling: Optional[Scaling] = None  # tables only: raw features to the model's space
    plane: tuple[int, int] = (0, 1)  # the features the boundary grid varies
    medians: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (d,) training medians

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def on_plane(self, first: int, second: int) -> "Dataset":
        """The same data with the boundary drawn over features ``first`` and ``second``."""
        if first == second or not (0 <= first < self.n_features and 0 <= second < self.n_features):
            raise ValueError(f"a plane needs two different features among the {self.n_features}")
        grid = plane_grid(self.medians, first, second)
        grid.setflags(write=False)
        return dataclasses.replace(self, grid=grid, plane=(first, second))


def plane_grid(medians: np.ndarray, first: int, second: int, size: int = BOUNDARY_GRID) -> np.ndarray:
    """``size``**2 points over [0, 1] in features ``first`` (x) and ``second`` (y), the others at their medians."""
    axis = np.linspace(0.0, 1.0, size, dtype=np.float32)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    grid = np.tile(np.asarray(medians, dtype=np.float32), (size * size, 1))
    grid[:, first], grid[:, second] = xx.ravel(), yy.ravel()
    return grid


def default_plane(n_features: int) -> tuple[int, int]:
    """The plane a data set's boundary is first drawn on: its first two features (one feature: a strip)."""
    return (0, 1) if n_features > 1 else (0, 0)


def boundary_grid(size: int = BOUNDARY_GRID) -> np.ndarray:
    return plane_grid(np.zeros(2), 0, 1, size)


# ---------------------------------------------------------------- the generated shapes

def checkerboard_labels(points: np.ndarray, bands: int) -> np.ndarray:
    """Parity of the band index along x XOR along y, with ``bands`` bands per axis on [0, 1]:
    the band of v is rint((bands - 1) * v), so the guide's ``CLUSTERS = 3`` is 4 bands."""
    cells = np.rint(np.clip(points, 0.0, 1.0) * (bands - 1)).astype(np.int64)
    return (cells[:, 0] + cells[:, 1]) % 2


CENTRE = np.array([0.5, 0.5])
CIRCLE_INNER, CIRCLE_RING = 0.22, (0.30, 0.45)  # class 0 inside the disc, class 1 in the ring
GAUSSIAN_CENTRES, GAUSSIAN_SPREAD = np.array([[0.35, 0.35], [0.65, 0.65]]), 0.09
SPIRAL_TURNS, SPIRAL_RADII = 1.5, (0.05, 0.45)


def _circle_rule(points: np.ndarray, _config: DataConfig) -> np.ndarray:
    split = (CIRCLE_INNER + CIRCLE_RING[0]) / 2
    return (np.linalg.norm(points - CENTRE, axis=1) > split).astype(np.int64)


def _xor_rule(points: np.ndarray, _config: DataConfig) -> np.ndarray:
    return ((points[:, 0] > 0.5) ^ (points[:, 1] > 0.5)).astype(np.int64)


def _gaussians_rule(points: np.ndarray, _config: DataConfig) -> np.ndarray:
    """The nearer centre: the best rule for two equal round Gaussians."""
    distances = np.linalg.norm(points[:, None, :] - GAUSSIAN_CENTRES[None], axis=2)
    return distances.argmin(axis=1).astype(np.int64)


def _spiral_arm(t: np.ndarray, arm: int) -> np.ndarray:
    angle = 2 * np.pi * SPIRAL_TURNS * t + np.pi * arm
    radius = SPIRAL_RADII[0] + (SPIRAL_RADII[1] - SPIRAL_RADII[0]) * t
    return CENTRE + radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def _moon(t: np.ndarray, which: int) -> np.ndarray:
    """Two interleaved half circles (radius 1 in their own units), fitted into [0.1, 0.9] x [0.3, 0.7]."""
    angle = np.pi * t
    if which == 0:
        x, y = np.cos(angle), np.sin(angle)
    else:
        x, y = 1 - np.cos(angle), 0.5 - np.sin(angle)
    return np.stack([0.1 + 0.8 * (x + 1) / 3, 0.5 + 0.8 * (y - 0.25) / 3], axis=1)


def _nearest_curve_rule(curve: Callable[[np.ndarray, int], np.ndarray]) -> Callable:
    """The class of the nearest of two curves: the best rule when points are jittered off their curve."""
    samples = np.linspace(0.0, 1.0, 2000)
    curves = [curve(samples, k) for k in (0, 1)]

    def rule(points: np.ndarray, _config: DataConfig) -> np.ndarray:
        nearest = []
        for start in range(0, len(points), 2048):
            chunk = points[start : start + 2048, None, :]
            nearest.append(np.stack([np.min(np.sum((chunk - c[None]) ** 2, axis=2), axis=1) for c in curves], axis=1))
        return np.concatenate(nearest).argmin(axis=1).astype(np.int64) if nearest else np.zeros(0, np.int64)

    return rule


def _checkerboard_rule(points: np.ndarray, config: DataConfig) -> np.ndarray:
    return checkerboard_labels(points, config.bands)


def _clean_checkerboard(config: DataConfig, _rng) -> tuple[np.ndarray, np.ndarray]:
    axis = np.linspace(0.0, 1.0, config.grid_side)
    xx, yy = np.meshgrid(axis, axis, indexing="ij")
    clean = np.stack([xx.ravel(), yy.ravel()], axis=1)
    return clean, checkerboard_labels(clean, config.bands)


def _halves(config: DataConfig) -> np.ndarray:
    """Class labels for n points, half of each (class 1 takes the odd one)."""
    return (np.arange(config.n_points) >= config.n_points // 2).astype(np.int64)


def _clean_circle(config: DataConfig, rng) -> tuple[np.ndarray, np.ndarray]:
    labels = _halves(config)
    angle = rng.uniform(0, 2 * np.pi, config.n_points)
    inner, (ring_low, ring_high) = CIRCLE_INNER, CIRCLE_RING
    # uniform over the disc's and the ring's area
    radius = np.where(labels == 0, inner * np.sqrt(rng.uniform(0, 1, config.n_points)),
                      np.sqrt(rng.uniform(ring_low**2, ring_high**2, config.n_points)))
    return CENTRE + radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1), labels


def _clean_xor(config: DataConfig, rng) -> tuple[np.ndarray, np.ndarray]:
    points = rng.uniform(0.0, 1.0, (config.n_points, 2))
    return points, _xor_rule(points, config)


def _clean_gaussians(config: DataConfig, rng) -> tuple[np.ndarray, np.ndarray]:
    labels = _halves(config)
    return GAUSSIAN_CENTRES[labels] + rng.normal(0.0, GAUSSIAN_SPREAD, (config.n_points, 2)), labels


def _curve_points(curve) -> Callable:
    def clean(config: DataConfig, rng) -> tuple[np.ndarray, np.ndarray]:
        labels = _halves(config)
        t = rng.uniform(0.0, 1.0, config.n_points)
        points = np.where(labels[:, None] == 0, curve(t, 0), curve(t, 1))
        return points, labels
    return clean


@dataclass(frozen=True)
class Shape:
    clean: Callable  # (config, rng) -> (clean points (n, 2), labels (n,))
    rule: Callable  # (points, config) -> labels: what the shape's clean labelling says anywhere


SHAPE_MAKERS = {
    "checkerboard": Shape(_clean_checkerboard, _checkerboard_rule),
    "circle": Shape(_clean_circle, _circle_rule),
    "xor": Shape(_clean_xor, _xor_rule),
    "gaussians": Shape(_clean_gaussians, _gaussians_rule),
    "spirals": Shape(_curve_points(_spiral_arm), _nearest_curve_rule(_spiral_arm)),
    "moons": Shape(_curve_points(_moon), _nearest_curve_rule(_moon)),
}


def shape_labels(config: DataConfig, points: np.ndarray) -> np.ndarray:
    """The shape's rule at ``points`` (e.g. a thumbnail's grid)."""
    return SHAPE_MAKERS[config.shape].rule(np.asarray(points, dtype=np.float64), config)


# ---------------------------------------------------------------- making a data set

def make_dataset(config: DataConfig, table: Optional[Table] = None) -> Dataset:
    """A generated shape (cached: same config, same data, bit for bit, shared read-only), or
    ``table`` split and scaled as ``config`` says."""
    reasons = config.problems()
    if reasons:
        raise ConfigError(reasons)
    if config.is_table:
        if table is None:
            raise ValueError("a table's data set needs the table's rows")
        return split_table(table, config)
    return _generated(config)


@lru_cache(maxsize=8)
def _generated(config: DataConfig) -> Dataset:
    """Labels come from the clean points; then the jitter; then the split."""
    rng = np.random.default_rng(config.seed)
    shape = SHAPE_MAKERS[config.shape]
    clean, labels = shape.clean(config, rng)
    points = clean + rng.normal(0.0, config.noise, clean.shape) if config.noise > 0 else clean
    order = rng.permutation(len(points))
    test, train = order[: config.n_test], order[config.n_test :]
    train, val = validation_split(train, labels[train], config)
    points = points.astype(np.float32)
    ceiling = float(np.mean(shape.rule(points[test].astype(np.float64), config) == labels[test]))
    medians = np.median(points[train], axis=0)
    return _frozen(Dataset(points[train], labels[train], points[test], labels[test], points[val], labels[val],
                           plane_grid(medians, 0, 1), (BOUNDARY_GRID, BOUNDARY_GRID), ceiling, medians=medians))


def validation_split(rows: np.ndarray, labels: np.ndarray, config: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` (training rows, their ``labels``) split into training and validation rows: a seeded
    ``config.validation_fraction`` of each class (at least one row of each class with two or more)."""
    rng = np.random.default_rng([config.seed, 1])  # its own stream: the test split stays as it was
    held = []
    for label in np.unique(labels):
        members = rows[labels == label]
        members = members[rng.permutation(len(members))]
        count = min(len(members) - 1, max(1, int(round(config.validation_fraction * len(members)))))
        held.append(members[:max(count, 0)])
    val = np.sort(np.concatenate(held)) if held else rows[:0]
    return np.setdiff1d(rows, val), val


def split_table(table: Table, config: DataConfig, test_index: Optional[np.ndarray] = None) -> Dataset:
    """A seeded split holding out ``config.test_fraction`` of each class, and the scaling to [0, 1]
    from the training rows (constant features get span 1)."""
    if table.features.shape[1] != config.n_features or len(table.class_names) != config.n_classes:
        raise ValueError(f"the table has {table.features.shape[1]} features and {len(table.class_names)} classes, "
                         f"the configuration {config.n_features} and {config.n_classes}")
    rng = np.random.default_rng(config.seed)
    test_rows = []
    for label in range(config.n_classes):
        rows = np.flatnonzero(table.labels == label)
        rows = rows[rng.permutation(len(rows))]
        held = min(len(rows) - 1, int(round(config.test_fraction * len(rows)))) if len(rows) > 1 else 0
        test_rows.append(rows[:held])
    test = np.sort(np.concatenate(test_rows))
    if test_index is not None:  # given test rows instead (benchmarks: another library's split)
        test = np.unique(np.asarray(test_index, dtype=np.int64))
        if not 0 < len(test) < len(table.labels) or test[0] < 0 or test[-1] >= len(table.labels):
            raise ValueError(f"test rows must be indices of the table's {len(table.labels)} rows, "
                             f"leaving some to train on")
    is_test = np.zeros(len(table.labels), dtype=bool)
    is_test[test] = True
    train, val = validation_split(np.flatnonzero(~is_test), table.labels[~is_test], config)
    raw_train = table.features[train]
    low, high = raw_train.min(axis=0), raw_train.max(axis=0)
    scaling = Scaling(low, np.where(high > low, high - low, 1.0))
    x_train, x_test = scaling.apply(raw_train), scaling.apply(table.features[test])
    x_val = scaling.apply(table.features[val])
    medians = np.median(x_train, axis=0)
    plane = default_plane(config.n_features)
    grid = plane_grid(medians, *plane) if config.n_features > 1 else _line_grid()
    return _frozen(Dataset(x_train, table.labels[train], x_test, table.labels[test], x_val, table.labels[val], grid,
                           (BOUNDARY_GRID, BOUNDARY_GRID), None, table.feature_names, table.class_names,
                           scaling, plane, medians))


def _line_grid(size: int = BOUNDARY_GRID) -> np.ndarray:
    """One feature: the boundary is a strip, the same along y."""
    return np.tile(np.linspace(0.0, 1.0, size, dtype=np.float32), size)[:, None]


def _frozen(dataset: Dataset) -> Dataset:
    for array in (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test, dataset.x_val, dataset.y_val,
                  dataset.grid, dataset.medians):
        array.setflags(write=False)  # shared by every caller with the same configuration
    return dataset


def calibration_rows(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The training rows that choose the input step: all of them, or a seeded sample of CALIBRATION_ROWS."""
    if len(dataset.y_train) <= CALIBRATION_ROWS:
        return dataset.x_train, dataset.y_train
    rows = np.sort(np.random.default_rng(0).choice(len(dataset.y_train), CALIBRATION_ROWS, replace=False))
    return dataset.x_train[rows], dataset.y_train[rows]
