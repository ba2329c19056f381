"""What the window draws of an experiment besides its training events: the decision boundary on a
plane of two chosen features, and the names of a data set's features and classes (Qt-free)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from ..engine.config import DataConfig
from ..engine.data import Dataset, default_plane
from ..engine.training import boundary_image
from .datasets import TableStore


@dataclass(frozen=True)
class PlaneView:
    dataset: Dataset  # the data set with its boundary grid on the plane
    boundary: np.ndarray  # (rows, cols) P(class 1), or (rows, cols, k) class probabilities


def plane_boundary(model: nn.Module, dataset: Dataset, plane: tuple[int, int]) -> PlaneView:
    """The decision boundary of ``model`` (a trained model, as the live plot shows it) over features
    ``plane`` = (x, y), every other feature at its training median."""
    on_plane = dataset.on_plane(*plane)
    return PlaneView(on_plane, boundary_image(model, on_plane))


@dataclass(frozen=True)
class DataNames:
    features: tuple[str, ...]
    classes: tuple[str, ...]

    @property
    def plane(self) -> tuple[int, int]:
        """The plane a new data set's boundary is drawn on: its first two features (one: a strip)."""
        return default_plane(len(self.features))


def names_of(data: DataConfig, tables: TableStore) -> DataNames:
    """The feature and class names of the data set ``data`` makes, without making it: a table's
    own (its rows must be in ``tables``); a generated shape's from the engine."""
    if data.is_table:
        table = tables.table_for(data)
        return DataNames(table.feature_names, table.class_names)
    return DataNames(Dataset.feature_names, Dataset.class_names)
