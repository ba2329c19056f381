"""One experiment's settings, validated into plain-word reasons."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Optional

from .errors import UserError
from .integer import MAX_LOOKUP_BITS

OPTIMIZERS = ("adam", "sgd")
ROUNDING_MODES = ("exact", "approximate")
MIN_BITS, MAX_BITS = 2, 8
MAX_HIDDEN = 1024
MAX_LAYERS = 6
MIN_BANDS, MAX_BANDS = 2, 20


class ConfigError(UserError, ValueError):
    """Raised when a configuration is invalid; ``reasons`` lists every problem in words."""

    title = "The configuration is not valid"

    def __init__(self, reasons: list[str]):
        self.reasons = list(reasons)
        super().__init__("; ".join(self.reasons))

    def words(self) -> str:
        return "; ".join(self.reasons)


class ModelKind(Enum):
    """How a model comes to its bit-width; its value is the word files and the command line use.
    Whether it is pruned is a setting of its own: ``ExperimentConfig.pruning_budget``."""

    FLOAT = "float"  # trained in fp32, then quantized after training (post-training quantization)
    QAT = "qat"  # trained with quantization in the loop (Brevitas)

    @classmethod
    def read(cls, text: str) -> "ModelKind":
        """A kind as written: 'float' or 'qat'; ValueError in words otherwise."""
        try:
            return cls(text)
        except ValueError:
            raise ValueError(cls.unknown(text)) from None

    @classmethod
    def unknown(cls, value) -> str:
        """Why ``value`` is no kind, in words."""
        return f"unknown model kind '{value}': choose one of {', '.join(kind.value for kind in cls)}"


# Files written before experiment file format 3 (and history entries before format 2) had this kind
# of its own for a float model with a pruning budget; they read as ModelKind.FLOAT.
RETIRED_PRUNED_KIND = "pruned"


# Generated 2D shapes (all on about [0, 1]^2, two classes), and "table": the user's own data.
SHAPES = ("checkerboard", "circle", "xor", "gaussians", "spirals", "moons")
TABLE = "table"
MAX_FEATURES = 64
MAX_CLASSES = 10
MIN_POINTS, MAX_POINTS = 16, 1_000_000
MIN_TEST_FRACTION, MAX_TEST_FRACTION = 0.05, 0.5
MIN_VALIDATION_FRACTION, MAX_VALIDATION_FRACTION = 0.05, 0.5
MAX_EPOCHS, MAX_BATCH = 1000, 10_000
MAX_RESTARTS = 8
MIN_LOOKUP_BITS = 2
RECIPE_PRUNING_BUDGET = 20  # the default recipe's inputs per neuron (ExperimentConfig.default_recipe)
# The error probability of each lookup that Concrete ML uses by default (its DEFAULT_P_ERROR_PBS).
# Against Concrete's default (1e-5 for the whole circuit) it halves to thirds the keys of a
# circuit with a hundred lookups or more, and FHE simulation still agreed with the clear model on
# every test point measured (benchmarks/recipe.py, benchmarks/tables.py).
LOOKUP_P_ERROR = 6.3342483999973e-05
MAX_SEED = 2**31 - 1
MAX_ROUND_BITS = 8
MIN_ACCUMULATOR_BITS = 3


@dataclass(frozen=True)
class Bound:
    """A whole-number setting's range and its name in words: the configuration checks values with
    it, the window's spin boxes and the command line's options take their limits from it.
    ``off`` names what None means for a setting that may be None ("automatic", "off", "unbounded")."""

    words: str
    low: int
    high: int
    off: str = ""
    unit: str = ""

    def problem(self, value, high: Optional[int] = None, high_words: str = "") -> Optional[str]:
        """The reason ``value`` can't be used, or None. ``high`` (in ``high_words``) narrows the top
        where it depends on other settings."""
        if value is None and self.off:
            return None
        top = self.high if high is None else min(self.high, high)
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= top:
            off = f", or {self.off}" if self.off else ""
            return (f"{self.words} must be between {self.low:,} and {high_words or f'{top:,}'}{self.unit}{off} "
                    f"(got {value})")
        return None

    def read(self, text: str) -> Optional[int]:
        """A value as typed: a whole number, or the ``off`` word (or 'off', 'none') for None. Its range
        is checked with the configuration's other settings (``problem``); ValueError when unreadable."""
        text = text.strip()
        if self.off and text.lower() in (self.off, "off", "none"):
            return None
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{self.words}: '{text}' is not a whole number"
                             + (f" (or '{self.off}')" if self.off else "")) from None


# One bound per whole-number setting of ExperimentConfig (by field name) and of DataConfig (data.*).
BOUNDS = {
    "n_hidden": Bound("hidden neurons", 1, MAX_HIDDEN),
    "n_layers": Bound("hidden layers (0: a linear model)", 0, MAX_LAYERS),
    "bits": Bound("bit-width", MIN_BITS, MAX_BITS),
    "pruning_budget": Bound("pruning budget (non-zero inputs per neuron)", 1, max(MAX_HIDDEN, MAX_FEATURES), off="off"),
    "epochs": Bound("epochs", 1, MAX_EPOCHS, off="automatic"),
    "batch_size": Bound("batch size", 1, MAX_BATCH, off="automatic"),
    "seed": Bound("seed", 0, MAX_SEED),
    "restarts": Bound("restarts", 1, MAX_RESTARTS),
    "accumulator_bits": Bound("target accumulator", MIN_ACCUMULATOR_BITS, MAX_LOOKUP_BITS, off="off", unit=" bits"),
    "neurons_kept": Bound("neurons kept", 1, MAX_HIDDEN, off="all"),
    "round_bits": Bound("rounded bits", 0, MAX_ROUND_BITS),
    "lookup_bits": Bound("the widest lookup", MIN_LOOKUP_BITS, MAX_LOOKUP_BITS, off="unbounded", unit=" bits"),
    "data.n_points": Bound("points", MIN_POINTS, MAX_POINTS),
    "data.bands": Bound("bands per axis", MIN_BANDS, MAX_BANDS),
    "data.n_test": Bound("test points", 1, MAX_POINTS - 1),
    "data.seed": Bound("data seed", 0, MAX_SEED),
}


@dataclass(frozen=True)
class DataConfig:
    """Which data: a generated shape or a table of the user's, and how it is split.

    By default the guide's checkerboard: a 100 x 100 grid on [0, 1]^2 (10,000 points), four bands
    per axis (the guide's ``CLUSTERS = 3``: label = parity of rint(3x) XOR parity of rint(3y)), every
    point jittered by N(0, 0.01^2) after labelling, 500 test points. A table names its file and
    content hash (the rows themselves travel beside the configuration, see ``engine.data.Table``).
    """

    shape: str = "checkerboard"  # one of SHAPES, or TABLE
    n_points: int = 10_000  # generated points (the checkerboard lays them on a square grid)
    bands: int = 4  # checkerboard bands per axis; the two outer bands are half as wide as the others
    noise: float = 0.01  # std of the Gaussian jitter added to the points after labelling
    n_test: int = 500  # generated sets: test points
    seed: int = 0  # the jitter and the train/test split
    # --- a table ---
    table_name: Optional[str] = None  # the data file's name, as imported
    table_sha256: Optional[str] = None  # the data file's content hash at import
    table_bytes: Optional[int] = None  # the data file's size at import
    label_column: Optional[str] = None
    test_fraction: float = 0.2  # tables: share of each class held out for testing (stratified)
    # Share of each class of the training points held out for validation, which chooses what the
    # recipe chooses (input step, kept epoch, restart); the test points only report.
    validation_fraction: float = 0.2
    n_features: int = 2
    n_classes: int = 2

    @property
    def is_table(self) -> bool:
        return self.shape == TABLE

    def problems(self) -> list[str]:
        reasons = []
        if not MIN_VALIDATION_FRACTION <= self.validation_fraction <= MAX_VALIDATION_FRACTION:
            reasons.append(f"the validation share must be between {MIN_VALIDATION_FRACTION:.0%} and "
                           f"{MAX_VALIDATION_FRACTION:.0%} (got {self.validation_fraction:.0%})")
        if self.is_table:
            return reasons + self._table_problems()
        if self.shape not in SHAPES:
            reasons.append(f"unknown data shape '{self.shape}': choose one of {', '.join(SHAPES)}, or import a table")
        reasons += [BOUNDS["data.n_points"].problem(self.n_points), BOUNDS["data.bands"].problem(self.bands),
                    BOUNDS["data.seed"].problem(self.seed)]
        if not 0.0 <= self.noise <= 0.5:
            reasons.append(f"data noise must be between 0 and 0.5 (got {self.noise})")
        if (self.n_features, self.n_classes) != (2, 2):
            reasons.append("a generated shape has 2 features and 2 classes")
        n_points = self.points_made
        reasons.append(BOUNDS["data.n_test"].problem(self.n_test, n_points - 1,
                                                     f"{n_points - 1:,} for {n_points:,} points"))
        return [reason for reason in reasons if reason]

    def _table_problems(self) -> list[str]:
        reasons = []
        if not self.table_sha256 or not self.label_column:
            reasons.append("a table needs its data file and its label column: import the data again")
        if not 1 <= self.n_features <= MAX_FEATURES:
            reasons.append(f"a table needs 1 to {MAX_FEATURES} feature columns (it has {self.n_features})")
        if not 2 <= self.n_classes <= MAX_CLASSES:
            reasons.append(f"a table needs 2 to {MAX_CLASSES} classes (it has {self.n_classes})")
        if not MIN_TEST_FRACTION <= self.test_fraction <= MAX_TEST_FRACTION:
            reasons.append(f"the test share must be between {MIN_TEST_FRACTION:.0%} and {MAX_TEST_FRACTION:.0%} "
                           f"(got {self.test_fraction:.0%})")
        return reasons

    @property
    def points_made(self) -> int:
        """How many points a generated shape makes (the checkerboard's square grid rounds down)."""
        if self.shape == "checkerboard":
            return self.grid_side**2
        return self.n_points

    @property
    def grid_side(self) -> int:
        """Checkerboard points per axis."""
        return math.isqrt(max(self.n_points, 0))

    @classmethod
    def for_shape(cls, shape: str, **values) -> "DataConfig":
        """A generated shape with its suggested jitter unless one is given."""
        values.setdefault("noise", SUGGESTED_NOISE.get(shape, cls.noise))
        return cls(shape=shape, **values)

    @classmethod
    def from_dict(cls, values: dict) -> "DataConfig":
        values = dict(values)
        if "clusters" in values and "bands" not in values:
            values["bands"] = values.pop("clusters")  # files written before 0.2 called the bands "clusters"
        if "grid_size" in values and "n_points" not in values:
            values["n_points"] = int(values.pop("grid_size")) ** 2  # before 0.4: points per axis
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError([f"unknown setting 'data.{name}'" for name in unknown])
        return cls(**values)


# The jitter each shape is shown with by default: the guide's for its board; for the others
# enough that the classes touch and the ceiling sits a little under 100%.
SUGGESTED_NOISE = {"checkerboard": 0.01, "circle": 0.04, "xor": 0.03, "gaussians": 0.03, "spirals": 0.03,
                   "moons": 0.04}


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that defines one run: data, model, pruning, training."""

    kind: ModelKind = ModelKind.QAT
    n_hidden: int = 100
    n_layers: int = 2  # hidden layers
    bits: int = 3  # weights and activations (QAT), or post-training quantization target
    pruning_budget: Optional[int] = None  # max non-zero inputs per neuron; None = off (see default_recipe)
    epochs: Optional[int] = None  # None: from the data's size (engine.training.schedule_for)
    lr: float = 0.004
    batch_size: Optional[int] = None  # None: from the data's size
    optimizer: str = "adam"
    seed: int = 0
    restarts: int = 2  # models trained from different seeds; the best on validation is kept
    data: DataConfig = field(default_factory=DataConfig)
    # --- cheaper FHE ---
    accumulator_bits: Optional[int] = None  # QAT: target accumulator width guaranteed by A2Q+ weights
    neurons_kept: Optional[int] = None  # structured pruning: hidden neurons kept per layer (fewer PBS)
    round_bits: int = 0  # low accumulator bits rounded away before each lookup, trained for
    # The widest lookup the circuit may have: after training, each hidden accumulator wider than
    # this is rounded (exactly, as Concrete's round_bit_pattern) down to it. None: no bound.
    lookup_bits: Optional[int] = 5
    # "exact" rounding is bit for bit the clear model's, at one more lookup per rounded bit;
    # "approximate" is one lookup (and may round a value near the middle the other way, so FHE can
    # disagree with the clear model: 3.2 points lost on a checkerboard seed, 3.3 on iris).
    rounding: str = "exact"
    p_error: Optional[float] = LOOKUP_P_ERROR  # error probability per lookup; None = Concrete's default

    def problems(self) -> list[str]:
        """Every reason this configuration can't run, in words; empty when it is valid."""
        reasons = []
        if not isinstance(self.kind, ModelKind):
            reasons.append(ModelKind.unknown(self.kind))
        for name in ("n_hidden", "n_layers", "bits", "epochs", "batch_size", "seed", "restarts", "lookup_bits",
                     "round_bits"):
            reasons.append(BOUNDS[name].problem(getattr(self, name)))
        reasons.append(self._budget_problem())
        if not isinstance(self.lr, (int, float)) or not 0 < self.lr <= 1:
            reasons.append(f"learning rate must be above 0 and at most 1 (got {self.lr})")
        if self.optimizer not in OPTIMIZERS:
            reasons.append(f"unknown optimizer '{self.optimizer}': choose one of {', '.join(OPTIMIZERS)}")
        reasons.append(self._accumulator_problem())
        if self.neurons_kept is not None and self.accumulator_bits is not None:
            reasons.append(
                "structured pruning can't be combined with a target accumulator (A2Q normalises each "
                "neuron's weights, and a removed neuron has none): use the pruning budget instead"
            )
        hidden = self.n_hidden if isinstance(self.n_hidden, int) else 0
        reasons.append(BOUNDS["neurons_kept"].problem(self.neurons_kept, hidden, f"the {self.n_hidden} hidden neurons"))
        if self.rounding not in ROUNDING_MODES:
            reasons.append(f"unknown rounding '{self.rounding}': choose exact or approximate")
        if self.p_error is not None and (not isinstance(self.p_error, (int, float)) or not 0 < self.p_error < 0.5):
            reasons.append(f"error probability must be above 0 and below 0.5 (got {self.p_error})")
        reasons = [reason for reason in reasons if reason]
        reasons.extend(self.data.problems())
        return reasons

    def _budget_problem(self) -> Optional[str]:
        problem = BOUNDS["pruning_budget"].problem(self.pruning_budget)
        if problem or self.pruning_budget is None:
            return problem
        widest = max(self.data.n_features, self.n_hidden) if isinstance(self.n_hidden, int) else self.data.n_features
        if self.pruning_budget > widest:
            return (f"pruning budget {self.pruning_budget} is more than the {widest} inputs a neuron has: "
                    f"lower it or turn pruning off")
        return None

    def _accumulator_problem(self) -> Optional[str]:
        if self.accumulator_bits is None:
            return None
        if self.kind is not ModelKind.QAT:
            return "a target accumulator width needs quantization-aware training (kind 'qat')"
        problem = BOUNDS["accumulator_bits"].problem(self.accumulator_bits)
        if problem is None and isinstance(self.bits, int) and self.accumulator_bits < self.bits + 2:
            return (f"a {self.accumulator_bits}-bit accumulator can't hold {self.bits}-bit products: "
                    f"allow at least {self.bits + 2} bits or lower the bit-width")
        return problem

    def validate(self) -> "ExperimentConfig":
        reasons = self.problems()
        if reasons:
            raise ConfigError(reasons)
        return self

    @property
    def is_quantization_aware(self) -> bool:
        return self.kind is ModelKind.QAT

    def to_dict(self) -> dict:
        """Plain values, as files keep them (the kind as its word)."""
        return {**dataclasses.asdict(self), "kind": self.kind.value}

    @classmethod
    def from_dict(cls, values: dict) -> "ExperimentConfig":
        """Build from a dict (e.g. a saved file); unknown keys are an error, missing ones take defaults."""
        values = dict(values)
        data = values.pop("data", None) or {}
        # Files written before the bounded recipe (0.5): one model, lookups as wide as the accumulators.
        values.setdefault("lookup_bits", None)
        values.setdefault("restarts", 1)
        if "kind" in values:
            if values["kind"] == RETIRED_PRUNED_KIND:
                values["kind"] = ModelKind.FLOAT.value
            try:
                values["kind"] = ModelKind.read(values["kind"])
            except ValueError as error:
                raise ConfigError([str(error)]) from None
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError([f"unknown setting '{name}'" for name in unknown])
        return cls(**values, data=DataConfig.from_dict(data))

    @classmethod
    def default_recipe(cls, **changes) -> "ExperimentConfig":
        """The configuration the window, ``train`` and the presets start from: these defaults, and
        each neuron pruned to RECIPE_PRUNING_BUDGET inputs where it has more (a float model stays
        dense)."""
        config = cls(**changes)
        if "pruning_budget" in changes or config.kind is ModelKind.FLOAT:
            return config
        widest = max(config.data.n_features, config.n_hidden) if isinstance(config.n_hidden, int) else 0
        return config.replace(pruning_budget=RECIPE_PRUNING_BUDGET) if widest > RECIPE_PRUNING_BUDGET else config

    def replace(self, **changes) -> "ExperimentConfig":
        data_changes = changes.pop("data", None)
        new = dataclasses.replace(self, **changes)
        if data_changes:
            new = dataclasses.replace(new, data=dataclasses.replace(self.data, **data_changes))
        return new
