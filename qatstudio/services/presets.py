"""The step-by-step guide's configurations, as presets for the Configure panel (Qt-free)."""
from __future__ import annotations

from dataclasses import dataclass

from ..engine.config import DataConfig, ExperimentConfig
from .reproduce import BITS, TABLE_NEURONS, TABLE_PRUNED, TABLE_QAT


@dataclass(frozen=True)
class Preset:
    group: str
    title: str
    changes: dict  # applied with ExperimentConfig.replace on top of the current configuration

    def apply(self, config: ExperimentConfig) -> ExperimentConfig:
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

    def apply(self, config: ExperimentConfig) -> ExperimentConfig:
        """``config`` on this data set (the data seed, and any data setting the preset leaves, kept)."""
        return config.replace(data=self.changes)


def guide_presets() -> list[Preset]:
    """Float 10/30/100 neurons (3-bit post-training quantization), pruned 10 and 30 of 100,
    and QAT 3-bit 100 neurons pruned to 20 and 30: the three tables of the guide."""
    presets = [
        Preset("Baseline: float + 3-bit post-training quantization",
               f"Float, {n} neurons, {BITS}-bit PTQ",
               dict(kind="float", n_hidden=n, n_layers=2, bits=BITS, pruning_budget=None))
        for n in TABLE_NEURONS
    ]
    presets += [
        Preset("Pruning: 100 neurons + 3-bit post-training quantization",
               f"Pruned, {budget} of 100 inputs per neuron, {BITS}-bit PTQ",
               dict(kind="pruned", n_hidden=100, n_layers=2, bits=BITS, pruning_budget=budget))
        for budget in TABLE_PRUNED
    ]
    presets += [
        Preset("Quantization-aware training",
               f"QAT {BITS}-bit, 100 neurons, {budget} inputs per neuron",
               dict(kind="qat", n_hidden=100, n_layers=2, bits=BITS, pruning_budget=budget))
        for budget in TABLE_QAT
    ]
    return presets


def data_presets() -> list[DataPreset]:
    """The guide's board (the default) and the easier 3 x 3 board without jitter."""
    guide = DataConfig()
    return [
        DataPreset("Data set", f"Guide's board ({guide.bands} bands, jitter {guide.noise:g})",
                   dict(n_points=guide.n_points, bands=guide.bands, noise=guide.noise, n_test=guide.n_test)),
        DataPreset("Data set", "3 x 3 board (no jitter)", dict(bands=3, noise=0.0)),
    ]
