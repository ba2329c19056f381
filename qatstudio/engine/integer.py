"""The single integer model: runs in the clear with numpy and is what Concrete traces.

Every hidden layer is an integer matrix product (the accumulator) followed by one table lookup
per neuron, indexed by the accumulator, which holds that neuron's bias + ReLU + requantization.
The last layer's accumulator leaves the circuit; its scale and bias are applied after decryption.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Optional

import numpy as np

# Concrete looks tables up on at most this many bits.
MAX_LOOKUP_BITS = 16
# An input domain up to this size is enumerated whole (2 features at 8 bits is 65,025 points), so
# the accumulator ranges are exact; a larger one (many features) gets worst-case bounds instead.
MAX_DOMAIN_INPUTS = 1 << 16
# Inputs Concrete measures a circuit on when its domain is too large to enumerate.
SAMPLED_INPUTS = 256


def bits_for_range(low: int, high: int) -> int:
    """Bits of the smallest integer type holding [low, high] (signed if low < 0), as Concrete counts."""
    low, high = int(low), int(high)
    if low >= 0:
        return max(1, int(high).bit_length())
    return max(int(-low - 1).bit_length(), int(high).bit_length()) + 1


def round_accumulator(acc, round_bits: int):
    """Concrete's round_bit_pattern: to the nearest multiple of 2**round_bits, ties up.
    Works on integer arrays and on (integral-valued) torch tensors alike."""
    if not round_bits:
        return acc
    unit = 1 << round_bits
    return (acc + unit // 2) // unit * unit


def lookup_bits_after(low: int, high: int, round_bits: int) -> int:
    """Bits of a lookup's index for accumulators in [low, high] rounded by ``round_bits`` low bits."""
    low, high = round_accumulator(np.array([low, high], dtype=np.int64), round_bits)
    return max(1, bits_for_range(int(low), int(high)) - round_bits)


def round_bits_for(low: int, high: int, lookup_bits: int, at_least: int = 0) -> int:
    """The fewest low bits (from ``at_least``) to round accumulators in [low, high] by so that
    their lookup has at most ``lookup_bits`` bits."""
    round_bits = at_least
    while lookup_bits_after(low, high, round_bits) > lookup_bits:
        round_bits += 1
    return round_bits


@dataclass
class IntegerLayer:
    name: str
    weights: np.ndarray  # (n_in, n_out) int64
    # (n_out, 2**table_bits) int64; entry a % 2**table_bits is the neuron's output for accumulator a.
    # None for the last layer, whose accumulator is the circuit's output.
    tables: Optional[np.ndarray] = None
    acc_min: int = 0  # over every input of the domain
    acc_max: int = 0
    bound_min: int = 0  # worst case from weights and input ranges
    bound_max: int = 0
    round_bits: int = 0  # accumulator rounded to a multiple of 2**round_bits (half up) before the lookup

    @property
    def accumulator_bits(self) -> int:
        return bits_for_range(self.acc_min, self.acc_max)

    @property
    def bound_bits(self) -> int:
        return bits_for_range(self.bound_min, self.bound_max)

    @property
    def n_out(self) -> int:
        return self.weights.shape[1]

    def round(self, acc: np.ndarray) -> np.ndarray:
        return round_accumulator(acc, self.round_bits)

    @property
    def lookup_range(self) -> tuple[int, int]:
        """The range of the values looked up (the accumulator after rounding)."""
        low, high = self.round(np.array([self.acc_min, self.acc_max]))
        return int(low), int(high)

    @property
    def lookup_bits(self) -> int:
        """Bits of the lookup's index once the rounded-away low bits are dropped."""
        return lookup_bits_after(self.acc_min, self.acc_max, self.round_bits)

    def lookup(self, acc: np.ndarray) -> np.ndarray:
        size = self.tables.shape[1]
        return self.tables[np.arange(self.n_out), np.mod(self.round(acc), size)]


def enumerable(domain_min: np.ndarray, domain_max: np.ndarray) -> bool:
    """Whether every integer input of the domain box can be measured (exact ranges), or worst-case
    bounds stand in (many features)."""
    size = np.prod([int(hi) - int(lo) + 1 for lo, hi in zip(domain_min, domain_max)], dtype=object)
    return int(size) <= MAX_DOMAIN_INPUTS


def domain_inputs(domain_min: np.ndarray, domain_max: np.ndarray, first_weights: np.ndarray) -> np.ndarray:
    """The inputs a circuit is measured on: every integer input of the domain box when it is
    enumerable; else its two corners, the corners that reach each first-layer neuron's bounds,
    and a seeded sample of the box (the ranges then come from worst-case bounds)."""
    if enumerable(domain_min, domain_max):
        axes = [range(int(lo), int(hi) + 1) for lo, hi in zip(domain_min, domain_max)]
        return np.array(list(itertools.product(*axes)), dtype=np.int64)
    low, high = domain_min[:, None], domain_max[:, None]
    reaching_min = np.where(first_weights > 0, low, high).T
    reaching_max = np.where(first_weights > 0, high, low).T
    sample = np.random.default_rng(0).integers(domain_min, domain_max + 1, size=(SAMPLED_INPUTS, len(domain_min)))
    rows = np.concatenate([domain_min[None], domain_max[None], reaching_min, reaching_max, sample])
    return np.unique(rows.astype(np.int64), axis=0)


@dataclass
class IntegerMLP:
    input_scale: float
    input_int_min: int  # the input quantizer's own clamp range
    input_int_max: int
    domain_min: np.ndarray  # (n_features,) int64: the box of inputs the circuit is built for
    domain_max: np.ndarray
    layers: list[IntegerLayer]
    output_scale: np.ndarray  # (n_classes,) float64
    output_bias: np.ndarray

    # --- client side (in the clear) ---
    def quantize_inputs(self, x: np.ndarray) -> np.ndarray:
        """Float inputs to the integers the circuit takes (Brevitas' rounding: half to even)."""
        scaled = np.asarray(x, dtype=np.float32) / np.float32(self.input_scale)
        ints = np.clip(np.round(scaled), self.input_int_min, self.input_int_max).astype(np.int64)
        return np.clip(ints, self.domain_min, self.domain_max)

    def dequantize_outputs(self, acc: np.ndarray) -> np.ndarray:
        return np.asarray(acc, dtype=np.float64) * self.output_scale + self.output_bias

    # --- the integer network ---
    def accumulators(self, x_int: np.ndarray) -> list[np.ndarray]:
        """Every layer's integer accumulator for a batch of quantized inputs."""
        accs = []
        values = np.asarray(x_int, dtype=np.int64)
        for layer in self.layers:
            acc = values @ layer.weights
            accs.append(acc)
            if layer.tables is not None:
                values = layer.lookup(acc)
        return accs

    def forward_int(self, x_int: np.ndarray) -> np.ndarray:
        return self.accumulators(x_int)[-1]

    def logits(self, x: np.ndarray) -> np.ndarray:
        return self.dequantize_outputs(self.forward_int(self.quantize_inputs(x)))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.logits(x).argmax(axis=1)

    # --- what Concrete sees ---
    @property
    def enumerable(self) -> bool:
        """Whether every input of the domain is measured (exact ranges), or bounds stand in (many features)."""
        return enumerable(self.domain_min, self.domain_max)

    def domain_inputs(self) -> np.ndarray:
        return domain_inputs(self.domain_min, self.domain_max, self.layers[0].weights)

    @property
    def accumulator_bits(self) -> int:
        return max(layer.accumulator_bits for layer in self.layers)

    def too_wide(self) -> Optional[tuple[str, int]]:
        """The first layer Concrete can't run, and its bits: a hidden layer's lookup index, or the
        last layer's accumulator, wider than MAX_LOOKUP_BITS. None when every layer fits."""
        for layer in self.layers:
            bits = layer.lookup_bits if layer.tables is not None else layer.accumulator_bits
            if bits > MAX_LOOKUP_BITS:
                return layer.name, bits
        return None

    @property
    def n_lookups(self) -> int:
        return sum(layer.n_out for layer in self.layers[:-1])

    # --- files ---
    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            "input": np.array([self.input_scale, self.input_int_min, self.input_int_max], dtype=np.float64),
            "domain": np.stack([self.domain_min, self.domain_max]),
            "output_scale": self.output_scale,
            "output_bias": self.output_bias,
        }
        for i, layer in enumerate(self.layers):
            arrays[f"layer{i}_weights"] = layer.weights
            arrays[f"layer{i}_bounds"] = np.array(
                [layer.acc_min, layer.acc_max, layer.bound_min, layer.bound_max, layer.round_bits], dtype=np.int64
            )
            if layer.tables is not None:
                arrays[f"layer{i}_tables"] = layer.tables
        return arrays

    @classmethod
    def from_arrays(cls, arrays, names: list[str]) -> "IntegerMLP":
        scale, low, high = arrays["input"]
        layers = []
        for i, name in enumerate(names):
            acc_min, acc_max, bound_min, bound_max, round_bits = (int(v) for v in arrays[f"layer{i}_bounds"])
            tables = arrays[f"layer{i}_tables"] if f"layer{i}_tables" in arrays else None
            layers.append(
                IntegerLayer(name, np.asarray(arrays[f"layer{i}_weights"], dtype=np.int64),
                               None if tables is None else np.asarray(tables, dtype=np.int64),
                               acc_min, acc_max, bound_min, bound_max, round_bits)
            )
        domain = np.asarray(arrays["domain"], dtype=np.int64)
        return cls(float(scale), int(low), int(high), domain[0], domain[1], layers,
                   np.asarray(arrays["output_scale"], dtype=np.float64),
                   np.asarray(arrays["output_bias"], dtype=np.float64))
