"""How the app writes what it measured, in one Qt-free place: numbers, configuration names, kind
names and colours, the metric rows and their explanations. The window, the command line, the story
and the HTML report all call these."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..engine.config import DataConfig, ExperimentConfig, ModelKind
from ..engine.integer import MAX_LOOKUP_BITS

# ---------------------------------------------------------------- colours

OTHER_COLOR = "#777777"  # points of no kind (the optimizer's candidates)
FRONT_COLOR = "#1a1a1a"  # the Pareto front
ERROR_COLOR = "#8a1c12"  # a problem the user can fix, in words
MUTED_COLOR = "#555555"  # secondary text: hints, where settings come from
WINNER_COLOR = "#117733"  # the optimizer's winner
WINNER_BACKGROUND = "#e3f2e1"  # its row
# Classes: blue and red for the two of a binary problem (the boundary ramp's ends), then eight more
# for tables with up to 10 classes (Paul Tol's "muted" set, which stays apart from the first two).
CLASS_COLORS = ("#2b5fad", "#c0392b", "#117733", "#DDCC77", "#882255", "#44AA99", "#999933", "#AA4499",
                "#88CCEE", "#332288")
# Decision boundaries, P(class 1) from 0 to 1: blue (class 0), white (undecided), red (class 1).
# colorcet's CET-D1 sampled at nine even stops; the window's plots and the report interpolate these.
BOUNDARY_RAMP = ("#2151db", "#7075e2", "#a09ce8", "#c9c5ed", "#eee7ea", "#f0beb1", "#e78c77", "#d7583f", "#c00206")

# ---------------------------------------------------------------- kinds and configurations


@dataclass(frozen=True)
class KindLook:
    """How the app names and draws a kind of model."""

    short: str  # inside a configuration's name
    name: str  # legends, tables
    title: str  # the Configure panel's choice
    color: str  # Paul Tol's "vibrant"


KIND_LOOKS = {
    ModelKind.FLOAT: KindLook("float", "float + PTQ", "Float + post-training quant.", "#0077BB"),
    ModelKind.QAT: KindLook("QAT", "QAT", "Quantization-aware (QAT)", "#009988"),
}
# A float model with a pruning budget is named and drawn apart (the guide's second table); a QAT
# model is QAT pruned or not.
PRUNED_FLOAT_LOOK = KindLook("pruned", "pruned + PTQ", "Pruned float + post-training quant.", "#EE7733")
LEGEND_LOOKS = (KIND_LOOKS[ModelKind.FLOAT], PRUNED_FLOAT_LOOK, KIND_LOOKS[ModelKind.QAT])  # in legends' order

# ---------------------------------------------------------------- data sets

SHAPE_TITLES = {  # the data picker, captions, reports
    "checkerboard": "Checkerboard",
    "circle": "Circle (inside vs ring)",
    "xor": "XOR quadrants",
    "gaussians": "Two Gaussians",
    "spirals": "Two spirals",
    "moons": "Two moons",
    "table": "Your table",
}


def data_name(data: DataConfig) -> str:
    """A data set in a few words: 'checkerboard 4 bands, jitter 0.01, seed 0', 'wine.csv (8 features, 3 classes)'."""
    if data.is_table:
        return f"{data.table_name} ({data.n_features} features, {data.n_classes} classes)"
    words = SHAPE_TITLES.get(data.shape, data.shape)
    if data.shape == "checkerboard":
        words += f" {data.bands} bands"
    return f"{words}, jitter {data.noise:g}, {data.points_made:,} points, data seed {data.seed}"


def data_word(data: DataConfig) -> str:
    """A data set in a word or two, for a run's name: 'checkerboard', 'spirals', 'wine.csv'."""
    return data.table_name if data.is_table else data.shape


def config_look(config: ExperimentConfig) -> KindLook:
    """How a configuration's kind is named and drawn: a float one with a pruning budget as pruned."""
    if config.kind is ModelKind.FLOAT and config.pruning_budget is not None:
        return PRUNED_FLOAT_LOOK
    return KIND_LOOKS[config.kind]


def config_name(config: ExperimentConfig, short: bool = False) -> str:
    """A configuration in a few words: 'QAT 3-bit 100n budget 20 seed 0', or for a chart's
    caption (``short``) 'QAT 100n b20' (bits only when not 3, no seed)."""
    parts = [config_look(config).short]
    if not short or config.bits != 3:
        parts.append(f"{config.bits}-bit")
    parts.append(hidden_name(config))
    if config.pruning_budget is not None:
        parts.append(f"b{config.pruning_budget}" if short else f"budget {config.pruning_budget}")
    if config.neurons_kept is not None:
        parts.append(f"keep {config.neurons_kept}")
    if config.accumulator_bits is not None:
        parts.append(f"A2Q {config.accumulator_bits}b")
    if config.round_bits:
        parts.append(f"round {config.round_bits}{'~' if config.rounding == 'approximate' else ''}")
    if not short:
        parts.append(f"seed {config.seed}")
    return " ".join(parts)


def fmt_budget(budget: Optional[int]) -> str:
    """A pruning budget in words: '20 inputs per neuron', or 'off'."""
    return "off" if budget is None else f"{plural(budget, 'input')} per neuron"


def hidden_name(config: ExperimentConfig) -> str:
    """The hidden layers in a word: '100n' (the usual two layers), '1x16n', or 'linear' (none)."""
    if config.n_layers == 0:
        return "linear"
    return f"{config.n_hidden}n" if config.n_layers == 2 else f"{config.n_layers}\u00d7{config.n_hidden}n"


def fmt_epochs(config: ExperimentConfig) -> str:
    """'20 epochs', or 'automatic epochs' when the schedule comes from the data's size."""
    return "automatic epochs" if config.epochs is None else plural(config.epochs, "epoch")


def fmt_restart(restart: int, restarts: int) -> str:
    """'Restart 2 of 3 · ' while several models are trained in turn; '' for one."""
    return f"Restart {restart + 1} of {restarts} \u00b7 " if restarts > 1 else ""


def run_name(config: ExperimentConfig) -> str:
    """A run as the history, Compare and reports name it: its configuration and its data set,
    'QAT 3-bit 100n seed 0 on spirals' (two runs alike but for their data can be told apart)."""
    return f"{config_name(config)} on {data_word(config.data)}"


# ---------------------------------------------------------------- numbers

def plural(count: int, noun: str, nouns: Optional[str] = None) -> str:
    """A count and its noun in the right number: '1 sample', '3 samples', '1,200 rows'
    (``nouns``: the plural when it isn't ``noun`` + 's')."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def fmt_progress(done: int, total: int, noun: str, nouns: Optional[str] = None) -> str:
    """Progress counted in what it counts: '16 / 500 test points'."""
    return f"{done:,} / {plural(total, noun, nouns)}"


def fmt_percent(value: Optional[float]) -> str:
    """An accuracy or agreement in [0, 1] as '93.40%'; '-' when not measured."""
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.2f}%"


def fmt_seconds(seconds: Optional[float]) -> str:
    """A duration: '840 ms', '12.6 s', '3 min 05 s', '1 h 02 min'; '-' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def fmt_latency(metrics) -> str:
    """An encrypted run's latency per sample (``engine.evaluate.Metrics``): the steady state, the
    median after the first sample, whose one-time warm-up is said apart; a run of one sample has
    only its warm-up, which is not a latency."""
    warmup = fmt_seconds(metrics.fhe_warmup_s)
    if metrics.fhe_latency_s is None:
        return f"not measured ({warmup} was the one-time warm-up: {MEASURE_LATENCY})"
    return f"{fmt_seconds(metrics.fhe_latency_s)} (median, after a one-time warm-up of {warmup})"


def fmt_eta(seconds: Optional[float]) -> str:
    """Time left, or when it will be known (nothing is timed yet)."""
    return "ETA after the first" if seconds is None or not math.isfinite(seconds) else f"ETA {fmt_seconds(seconds)}"


def fmt_bytes(size: Optional[int]) -> str:
    """A size in bytes: '840 B', '82.2 MB' (powers of 1000); '-' when unknown."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def fmt_key_bytes(size: Optional[int], compressed: bool) -> str:
    """Keys' size, saying which: '521.0 MB uncompressed' (as the circuit holds them), '82.2 MB compressed'
    (as they are uploaded to a server and stored in the key cache)."""
    return f"{fmt_bytes(size)} {'compressed' if compressed else 'uncompressed'}"


def remaining_seconds(elapsed_s: float, done: float, total: float) -> float:
    """The ETA rule everywhere: the time per unit so far, times the units left (NaN before the first)."""
    return elapsed_s / done * (total - done) if done > 0 else math.nan


# ---------------------------------------------------------------- what the measures mean

TIP_BITS = ("Bit-width: how many bits every weight and activation keeps after quantization; "
            "fewer bits give a narrower accumulator and faster FHE, at the cost of a coarser model.")
TIP_BUDGET = ("Pruning budget: the most non-zero inputs each neuron may keep (off = dense); "
              "fewer inputs per neuron keep the accumulator narrow.")
TIP_ACCUMULATOR = ("Accumulator: the widest integer the circuit computes (a neuron's weighted sum of "
                   f"its inputs); Concrete can look up at most {MAX_LOOKUP_BITS} bits, and narrower runs faster.")
TIP_CEILING = ("Ceiling: the best accuracy any classifier can reach on these test points; the jitter moves "
               "some points across the shape's border after they were labelled (a table has no known ceiling).")
CEILING_NOTE = "Ceiling: the best any classifier can reach on these test points."  # TIP_CEILING, short
# A latency per sample needs a steady state: the first sample after key generation is a one-time warm-up.
MEASURE_LATENCY = "needs 2 or more samples"


@dataclass(frozen=True)
class MeasureRow:
    """One measure as every table shows it: its label, its explanation, where its value is."""

    key: str
    label: str
    tip: str
    field: str  # the attribute of ``engine.evaluate.Metrics`` (or, for ``circuit``, ``CircuitStats``)
    circuit: bool = False


METRIC_ROWS = (
    MeasureRow("ceiling", "Ceiling (best possible)", TIP_CEILING, "ceiling_accuracy"),
    MeasureRow("float", "fp32", "The float model before quantization (float and pruned kinds).", "float_accuracy"),
    MeasureRow("brevitas", "Quantized (Brevitas)",
              "The Brevitas model: as trained (QAT) or quantized after training.", "brevitas_accuracy"),
    MeasureRow("validation", "Validation (chose the model)",
              "The integer model on the validation points, held out of training: they chose the kept epoch "
              "and restart; the test points below only report.", "validation_accuracy"),
    MeasureRow("clear", "Quantized, in the clear",
              "The integer model run in the clear with numpy: what FHE computes.", "clear_accuracy"),
    MeasureRow("simulated", "FHE simulated", "Concrete's FHE simulation on every test point.",
              "fhe_simulated_accuracy"),
    MeasureRow("executed", "FHE executed", "Real encryption, run and decryption on the first N test points.",
              "fhe_executed_accuracy"),
    MeasureRow("agree_simulated", "Agreement clear / simulated",
              "Share of test points where clear and FHE simulated predictions are equal.",
              "agreement_clear_simulated"),
    MeasureRow("agree_executed", "Agreement clear / executed",
              "Share of the encrypted points where clear and FHE predictions are equal.", "agreement_clear_executed"),
    MeasureRow("latency", "Latency per sample", "Steady state: the median time to encrypt, run and decrypt one "
              "test point, after the first (run 2 or more points to measure it).", "fhe_latency_s"),
    MeasureRow("warmup", "First sample (warm-up)", "The first encrypted point after key generation: slower "
              "once, while Concrete loads the keys and its runtime.", "fhe_warmup_s"),
    MeasureRow("keygen", "Key generation", "Time to generate the keys, or to load them from the on-disk cache.",
              "keygen_s"),
)
METRICS_BY_KEY = {row.key: row for row in METRIC_ROWS}


def fmt_measure(row: MeasureRow, value: Optional[float]) -> str:
    """A measure as its row shows it: '9 bits' and '1,234' for the circuit, seconds for times,
    percent for the rest; '-' when not measured."""
    if row.circuit:
        return "-" if value is None else f"{value} bits" if row.field == "accumulator_bits" else f"{value:,}"
    return fmt_seconds(value) if row.field.endswith("_s") else fmt_percent(value)


# ---------------------------------------------------------------- the compiled circuit

TIP_PBS = "Lookups (PBS): programmable bootstraps per encrypted inference, the costliest step of FHE."


CIRCUIT_ROWS = (
    MeasureRow("accumulator", "Accumulator", TIP_ACCUMULATOR, "accumulator_bits", circuit=True),
    MeasureRow("pbs", "Lookups (PBS)", TIP_PBS, "pbs_count", circuit=True),
)
CIRCUIT_BY_KEY = {row.key: row for row in CIRCUIT_ROWS}


# ---------------------------------------------------------------- many classes

def hex_rgb(colors) -> np.ndarray:
    """'#rrggbb' colours as an (n, 3) float array of 0-255 channels."""
    return np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colors], dtype=np.float64)


def class_shades(probabilities) -> np.ndarray:
    """Class probabilities (rows, cols, k) as RGB (rows, cols, 3) uint8: each point in its likeliest
    class's colour (CLASS_COLORS), paler the less sure the model is (a quarter strength where all k
    classes are equally likely)."""
    p = np.asarray(probabilities, dtype=np.float64)
    k = p.shape[-1]
    sure = np.clip((p.max(axis=-1) - 1 / k) / (1 - 1 / k), 0.0, 1.0)
    colours = hex_rgb(CLASS_COLORS)
    strength = (0.25 + 0.75 * sure)[..., None]
    return np.rint(255 + (colours[p.argmax(axis=-1)] - 255) * strength).astype(np.uint8)


def class_label(name: str) -> str:
    """A class as legends and tables name it: 'class 1' for a number, else its own name."""
    return f"class {name}" if name.lstrip("-").isdigit() else name

# ---------------------------------------------------------------- predicted cost

TIP_ESTIMATE = ("Predicted from the settings alone, before training: the worst case their bit-width, pruning "
                "budget, target accumulator and widest lookup allow (a trained circuit is often cheaper). "
                "Latency and keys come from this machine's measured lookup times.")
TIP_CALIBRATE = ("Time lookups of each precision on this computer (about a minute, once per machine and "
                 "Concrete version): the latency and key predictions, and the optimizer, start from them.")
NOT_CALIBRATED = "Latency and keys need this machine's lookup times, not measured yet."


def fmt_lookups(pbs: int, lookup_bits: int) -> str:
    """A worst case's lookups: 'at most 200, of up to 5 bits'; 'none (no hidden layer)'."""
    return f"at most {pbs:,}, of up to {lookup_bits} bits" if pbs else "none (no hidden layer)"


def fmt_predicted(predicted: float, measured: Optional[float], fmt) -> str:
    """A prediction written by ``fmt``, with how far the measure is from it once there is one:
    '40 ms predicted', '40 ms predicted (measured -5%)'."""
    if measured is None or predicted <= 0:
        return f"{fmt(predicted)} predicted"
    return f"{fmt(predicted)} predicted (measured {100 * (measured / predicted - 1):+.0f}%)"


def fmt_hidden_layers(config: ExperimentConfig) -> str:
    """The hidden layers in words: '2×100 neurons', 'no hidden layer (a linear model)'."""
    if not config.n_layers:
        return "no hidden layer (a linear model)"
    return f"{config.n_layers}\u00d7{config.n_hidden} neurons"
