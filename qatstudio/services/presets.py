"""The step-by-step guide's configurations, the data sets and the example tables, as presets for the
Configure panel (Qt-free)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ..engine.config import SHAPES, SUGGESTED_NOISE, DataConfig, ExperimentConfig, ModelKind
from .datasets import TableStore
from .formatting import SHAPE_TITLES, fmt_budget
from .paths import resources_dir
from .reproduce import BITS, TABLE_NEURONS, TABLE_PRUNED, TABLE_QAT
from .tabular import read_table


@dataclass(frozen=True)
class Preset:
    group: str
    title: str
    changes: dict  # applied with ExperimentConfig.replace on top of the current configuration

    def apply(self, config: ExperimentConfig, tables: TableStore) -> ExperimentConfig:
        """The preset's model on the guide's data (``config``'s data seed kept), with ``config``'s
        training settings; anything else back to its default."""
        base = ExperimentConfig(epochs=config.epochs, lr=config.lr, batch_size=config.batch_size,
                                optimizer=config.optimizer, seed=config.seed, data=DataConfig(seed=config.data.seed))
        return base.replace(**self.changes)


@dataclass(frozen=True)
class DataPreset:
    group: str
    title: str
    changes: dict  # DataConfig fields

    def apply(self, config: ExperimentConfig, tables: TableStore) -> ExperimentConfig:
        """``config`` on this data set (the data seed, and any generated set's setting the preset
        leaves, kept)."""
        data = config.data if not config.data.is_table else DataConfig(seed=config.data.seed)
        return config.replace(data=dataclasses.asdict(dataclasses.replace(data, **self.changes)))


@dataclass(frozen=True)
class ExamplePreset:
    """An example table shipped in ``resources/examples``: applying it imports the file (small: a
    few milliseconds) and keeps its rows in the ``tables`` given, like File > Import data. Every
    preset's ``apply`` takes the store; only this one keeps anything in it."""

    group: str
    title: str
    file: str
    label_column: str

    @property
    def path(self) -> Path:
        return resources_dir() / "examples" / self.file

    def apply(self, config: ExperimentConfig, tables: TableStore) -> ExperimentConfig:
        """``config`` on this table (the data seed and, from a table, the test share kept)."""
        imported = read_table(self.path, self.label_column)
        tables.remember(imported)
        share = config.data.test_fraction
        data = imported.data_config(test_fraction=share, seed=config.data.seed)
        return config.replace(data=dataclasses.asdict(data))


def guide_presets() -> list[Preset]:
    """Float 10/30/100 neurons (3-bit post-training quantization), pruned 10 and 30 of 100,
    and QAT 3-bit 100 neurons pruned to 20 and 30: the three tables of the guide."""
    presets = [
        Preset("Baseline: float + 3-bit post-training quantization",
               f"Float, {n} neurons, {BITS}-bit PTQ",
               dict(kind=ModelKind.FLOAT, n_hidden=n, n_layers=2, bits=BITS, pruning_budget=None))
        for n in TABLE_NEURONS
    ]
    presets += [
        Preset("Pruning: 100 neurons + 3-bit post-training quantization",
               f"Pruned, {budget} of 100 inputs per neuron, {BITS}-bit PTQ",
               dict(kind=ModelKind.FLOAT, n_hidden=100, n_layers=2, bits=BITS, pruning_budget=budget))
        for budget in TABLE_PRUNED
    ]
    presets += [
        Preset("Quantization-aware training",
               f"QAT {BITS}-bit, 100 neurons, {fmt_budget(budget)}",
               dict(kind=ModelKind.QAT, n_hidden=100, n_layers=2, bits=BITS, pruning_budget=budget))
        for budget in TABLE_QAT
    ]
    return presets


def data_presets() -> list:
    """The guide's board (the default), the easier 3 x 3 board without jitter, the other generated
    shapes with their suggested jitter, and the example tables."""
    guide = DataConfig()
    presets = [
        DataPreset("Data set", f"Guide's board ({guide.bands} bands, jitter {guide.noise:g})",
                   dict(shape="checkerboard", n_points=guide.n_points, bands=guide.bands, noise=guide.noise,
                        n_test=guide.n_test)),
        DataPreset("Data set", "3 x 3 board (no jitter)", dict(shape="checkerboard", bands=3, noise=0.0)),
    ]
    presets += [DataPreset("Data set", f"{SHAPE_TITLES[shape]}, jitter {SUGGESTED_NOISE[shape]:g}",
                           dict(shape=shape, noise=SUGGESTED_NOISE[shape]))
                for shape in SHAPES if shape != "checkerboard"]
    presets += [
        ExamplePreset("Example tables (CSV)", "Plants: 3 species from 8 measurements", "plants.csv", "species"),
        ExamplePreset("Example tables (CSV)", "Machines: faults from 4 sensors (one useless)", "machines.csv",
                      "fault"),
    ]
    return presets
