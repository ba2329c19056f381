"""The guide's checkerboard data set: a seeded, jittered grid on [0, 1]^2 split into train and test."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .config import ConfigError, DataConfig

BOUNDARY_GRID = 100  # points per axis where decision boundaries are evaluated


@dataclass(frozen=True)
class Dataset:
    x_train: np.ndarray  # (n, 2) float32
    y_train: np.ndarray  # (n,) int64
    x_test: np.ndarray
    y_test: np.ndarray
    grid: np.ndarray  # (BOUNDARY_GRID**2, 2) float32, row-major over (y, x)
    grid_shape: tuple[int, int]
    # The best accuracy any classifier can reach on the test points: the generating rule applied to
    # the jittered points (jitter moves some points across a band edge after they were labelled).
    ceiling_accuracy: float


def checkerboard_labels(points: np.ndarray, bands: int) -> np.ndarray:
    """Parity of the band index along x XOR along y, with ``bands`` bands per axis on [0, 1]:
    the band of v is rint((bands - 1) * v), so the guide's ``CLUSTERS = 3`` is 4 bands."""
    cells = np.rint(np.clip(points, 0.0, 1.0) * (bands - 1)).astype(np.int64)
    return (cells[:, 0] + cells[:, 1]) % 2


def boundary_grid(size: int = BOUNDARY_GRID) -> np.ndarray:
    axis = np.linspace(0.0, 1.0, size, dtype=np.float32)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def make_dataset(config: DataConfig) -> Dataset:
    """Same config, same data, bit for bit: made once per configuration and shared (read-only)."""
    reasons = config.problems()
    if reasons:
        raise ConfigError(reasons)
    return _cached_dataset(config)


@lru_cache(maxsize=8)
def _cached_dataset(config: DataConfig) -> Dataset:
    """Labels come from the clean grid; then the jitter."""
    rng = np.random.default_rng(config.seed)
    axis = np.linspace(0.0, 1.0, config.grid_size)
    xx, yy = np.meshgrid(axis, axis, indexing="ij")
    clean = np.stack([xx.ravel(), yy.ravel()], axis=1)
    labels = checkerboard_labels(clean, config.bands)
    points = clean + rng.normal(0.0, config.noise, clean.shape) if config.noise > 0 else clean
    order = rng.permutation(len(points))
    test, train = order[: config.n_test], order[config.n_test :]
    points = points.astype(np.float32)
    ceiling = float(np.mean(checkerboard_labels(points[test], config.bands) == labels[test]))
    arrays = [points[train], labels[train], points[test], labels[test], boundary_grid()]
    for array in arrays:
        array.setflags(write=False)  # shared by every caller with the same configuration
    return Dataset(*arrays, grid_shape=(BOUNDARY_GRID, BOUNDARY_GRID), ceiling_accuracy=ceiling)
