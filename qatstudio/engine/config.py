"""One experiment's settings, validated into plain-word reasons."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

from .integer import MAX_LOOKUP_BITS

MODEL_KINDS = ("float", "pruned", "qat")
OPTIMIZERS = ("adam", "sgd")
ROUNDING_MODES = ("exact", "approximate")
MIN_BITS, MAX_BITS = 2, 8
MAX_HIDDEN = 1024
MAX_LAYERS = 6
N_FEATURES = 2
N_CLASSES = 2
MIN_BANDS, MAX_BANDS = 2, 20


class ConfigError(ValueError):
    """Raised when a configuration is invalid; ``reasons`` lists every problem in words."""

    def __init__(self, reasons: list[str]):
        self.reasons = list(reasons)
        super().__init__("; ".join(self.reasons))


@dataclass(frozen=True)
class DataConfig:
    """The guide's checkerboard by default: a 100 x 100 grid on [0, 1]^2, four bands per axis
    (the guide's ``CLUSTERS = 3``: label = parity of rint(3x) XOR parity of rint(3y)), every point
    jittered by N(0, 0.01^2) after labelling, 500 test points."""

    grid_size: int = 100  # points per axis of the [0, 1]^2 grid
    bands: int = 4  # checkerboard bands per axis; the two outer bands are half as wide as the others
    noise: float = 0.01  # std of the Gaussian jitter added to the points after labelling
    n_test: int = 500
    seed: int = 0  # the jitter and the train/test split

    def problems(self) -> list[str]:
        reasons = []
        if not 4 <= self.grid_size <= 1000:
            reasons.append(f"grid size must be between 4 and 1000 points per axis (got {self.grid_size})")
        if not MIN_BANDS <= self.bands <= MAX_BANDS:
            reasons.append(f"bands per axis must be between {MIN_BANDS} and {MAX_BANDS} (got {self.bands})")
        if not 0.0 <= self.noise <= 0.5:
            reasons.append(f"data noise must be between 0 and 0.5 (got {self.noise})")
        n_points = self.grid_size**2
        if not 1 <= self.n_test < n_points:
            reasons.append(
                f"test count must be between 1 and {n_points - 1} for a {self.grid_size}x{self.grid_size} "
                f"grid (got {self.n_test})"
            )
        return reasons


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that defines one run: data, model, pruning, training."""

    kind: str = "qat"  # "float", "pruned" (float + pruning, then post-training quantization) or "qat"
    n_hidden: int = 100
    n_layers: int = 2  # hidden layers
    bits: int = 3  # weights and activations (QAT), or post-training quantization target
    pruning_budget: Optional[int] = None  # max non-zero inputs per neuron; None = off
    epochs: int = 20
    lr: float = 0.004
    batch_size: int = 64
    optimizer: str = "adam"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    # --- cheaper FHE ---
    accumulator_bits: Optional[int] = None  # QAT: target accumulator width guaranteed by A2Q+ weights
    neurons_kept: Optional[int] = None  # structured pruning: hidden neurons kept per layer (fewer PBS)
    round_bits: int = 0  # low accumulator bits rounded away before each lookup (cheaper PBS)
    rounding: str = "exact"  # "exact" or "approximate" rounding (faster, may change predictions)
    p_error: Optional[float] = None  # error probability per lookup; None = Concrete's default

    def problems(self) -> list[str]:
        """Every reason this configuration can't run, in words; empty when it is valid."""
        reasons = []
        if self.kind not in MODEL_KINDS:
            reasons.append(f"unknown model kind '{self.kind}': choose one of {', '.join(MODEL_KINDS)}")
        if not isinstance(self.n_hidden, int) or not 1 <= self.n_hidden <= MAX_HIDDEN:
            reasons.append(f"hidden neurons must be between 1 and {MAX_HIDDEN} (got {self.n_hidden})")
        if not isinstance(self.n_layers, int) or not 1 <= self.n_layers <= MAX_LAYERS:
            reasons.append(f"hidden layers must be between 1 and {MAX_LAYERS} (got {self.n_layers})")
        if not isinstance(self.bits, int) or not MIN_BITS <= self.bits <= MAX_BITS:
            reasons.append(f"bit-width must be between {MIN_BITS} and {MAX_BITS} (got {self.bits})")
        if self.pruning_budget is not None:
            widest = max(N_FEATURES, self.n_hidden) if isinstance(self.n_hidden, int) else N_FEATURES
            if not isinstance(self.pruning_budget, int) or self.pruning_budget < 1:
                reasons.append(f"pruning budget must be at least 1 non-zero input per neuron (got {self.pruning_budget})")
            elif self.pruning_budget > widest:
                reasons.append(
                    f"pruning budget {self.pruning_budget} is more than the {widest} inputs a neuron has: "
                    f"lower it or turn pruning off"
                )
        if self.kind == "pruned" and self.pruning_budget is None:
            reasons.append("a pruned model needs a pruning budget (non-zero inputs per neuron)")
        if self.kind == "float" and self.pruning_budget is not None:
            reasons.append("a float model is not pruned: choose kind 'pruned' or turn pruning off")
        if not isinstance(self.epochs, int) or not 1 <= self.epochs <= 1000:
            reasons.append(f"epochs must be between 1 and 1000 (got {self.epochs})")
        if not isinstance(self.lr, (int, float)) or not 0 < self.lr <= 1:
            reasons.append(f"learning rate must be above 0 and at most 1 (got {self.lr})")
        if not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= 10000:
            reasons.append(f"batch size must be between 1 and 10000 (got {self.batch_size})")
        if self.optimizer not in OPTIMIZERS:
            reasons.append(f"unknown optimizer '{self.optimizer}': choose one of {', '.join(OPTIMIZERS)}")
        if self.accumulator_bits is not None:
            if self.kind != "qat":
                reasons.append("a target accumulator width needs quantization-aware training (kind 'qat')")
            elif not isinstance(self.accumulator_bits, int) or not 3 <= self.accumulator_bits <= MAX_LOOKUP_BITS:
                reasons.append(f"target accumulator must be between 3 and {MAX_LOOKUP_BITS} bits "
                               f"(got {self.accumulator_bits})")
            elif isinstance(self.bits, int) and self.accumulator_bits < self.bits + 2:
                reasons.append(
                    f"a {self.accumulator_bits}-bit accumulator can't hold {self.bits}-bit products: "
                    f"allow at least {self.bits + 2} bits or lower the bit-width"
                )
        if self.neurons_kept is not None and self.accumulator_bits is not None:
            reasons.append(
                "structured pruning can't be combined with a target accumulator (A2Q normalises each "
                "neuron's weights, and a removed neuron has none): use the pruning budget instead"
            )
        if self.neurons_kept is not None and (
            not isinstance(self.neurons_kept, int)
            or not 1 <= self.neurons_kept <= (self.n_hidden if isinstance(self.n_hidden, int) else 0)
        ):
            reasons.append(f"neurons kept must be between 1 and the {self.n_hidden} hidden neurons (got {self.neurons_kept})")
        if not isinstance(self.round_bits, int) or not 0 <= self.round_bits <= 8:
            reasons.append(f"rounded bits must be between 0 and 8 (got {self.round_bits})")
        if self.rounding not in ROUNDING_MODES:
            reasons.append(f"unknown rounding '{self.rounding}': choose exact or approximate")
        if self.p_error is not None and (not isinstance(self.p_error, (int, float)) or not 0 < self.p_error < 0.5):
            reasons.append(f"error probability must be above 0 and below 0.5 (got {self.p_error})")
        reasons.extend(self.data.problems())
        return reasons

    def validate(self) -> "ExperimentConfig":
        reasons = self.problems()
        if reasons:
            raise ConfigError(reasons)
        return self

    @property
    def is_quantization_aware(self) -> bool:
        return self.kind == "qat"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ExperimentConfig":
        """Build from a dict (e.g. a saved file); unknown keys are an error, missing ones take defaults."""
        values = dict(values)
        data = dict(values.pop("data", {}) or {})
        if "clusters" in data and "bands" not in data:
            data["bands"] = data.pop("clusters")  # files written before 0.2 called the bands "clusters"
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        data_known = {f.name for f in dataclasses.fields(DataConfig)}
        unknown += sorted(f"data.{k}" for k in set(data) - data_known)
        if unknown:
            raise ConfigError([f"unknown setting '{name}'" for name in unknown])
        return cls(**values, data=DataConfig(**data))

    def replace(self, **changes) -> "ExperimentConfig":
        data_changes = changes.pop("data", None)
        new = dataclasses.replace(self, **changes)
        if data_changes:
            new = dataclasses.replace(new, data=dataclasses.replace(self.data, **data_changes))
        return new
