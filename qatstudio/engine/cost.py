"""What a circuit will cost on this machine, before it is paid: keys (size, memory, time) and
encrypted latency, from a compiled circuit's statistics or from a configuration before training.

Latency comes from ``LookupTimes``: how long a step of lookups of each precision takes on this
machine, measured once (``measure_lookup_times``, cached by the services' calibration). A step of
``n`` lookups of ``p`` bits takes ``first_s[p] - overhead_s + (n - 1) * each_s[p]``: Concrete shares
a step's lookups among the cores, so ``each_s`` is below ``first_s`` on a machine with several.
Keys: a set per precision used, as measured.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .config import LOOKUP_P_ERROR, ExperimentConfig
from .fhe import CircuitStats, compile_lookup_layer, generate_keys, keep_broken_pipes_catchable
from .integer import MAX_LOOKUP_BITS, bits_for_range

# Seconds of key generation per GB of keys: 17-29 s/GB on the four tables of benchmarks/tables.py
# (0.46-0.77 GB, 2 cores shared with other work, 2026-12-07). Peak memory per byte of keys: the
# keys, their serialized copy for the cache and Concrete's buffers; an allowance, not yet measured.
KEYGEN_SECONDS_PER_GB = 20.0
PEAK_MEMORY_PER_KEY_BYTE = 2.5

CALIBRATED_BITS = tuple(range(2, 7))  # lookup precisions measured; wider ones are extrapolated
CALIBRATION_LAYER = 8  # lookups in the wide layer measured beside a single lookup
# Beyond the widest precision measured, each further bit of a lookup multiplies its time and its
# keys by about this much (Concrete's parameters for 6 -> 7 -> 8 bits, benchmarks/fhe_speed.py).
PER_EXTRA_BIT = 2.0


@dataclass(frozen=True)
class KeyCost:
    key_bytes: int
    memory_bytes: int
    keygen_s: float


def key_cost_of(key_bytes: int) -> KeyCost:
    """The predicted cost of generating keys of ``key_bytes``."""
    return KeyCost(key_bytes, int(key_bytes * PEAK_MEMORY_PER_KEY_BYTE), key_bytes / 1e9 * KEYGEN_SECONDS_PER_GB)


def key_cost(stats: CircuitStats) -> KeyCost:
    """The predicted cost of generating the keys of the circuit ``stats`` describes."""
    return key_cost_of(stats.key_bytes)


@dataclass(frozen=True)
class LayerLookups:
    """One hidden layer's lookups: a table per neuron of ``bits`` bits and, with exact rounding,
    one more lookup per neuron and bit rounded away (Concrete's round_bit_pattern removes the low
    bits one at a time). Fitted on the six rows of benchmarks/optimize.py (2026-12-07): rounding's
    lookups cost about as many more lookups of the tables' precision in the layer's step (Concrete
    runs them beside the tables), and rounding adds about one set of keys, of the next precision."""

    neurons: int
    bits: int
    rounded_bits: int = 0

    @property
    def key_precisions(self) -> set[int]:
        return {self.bits, self.bits + 1} if self.rounded_bits else {self.bits}

    @property
    def lookups(self) -> int:
        return self.neurons * (self.rounded_bits + 1)


@dataclass(frozen=True)
class LookupTimes:
    """This machine's measured cost of lookups, by precision (bits)."""

    overhead_s: float  # a circuit without lookups: one sample's encryption, run and decryption
    first_s: dict[int, float]  # a layer of one lookup, overhead included
    each_s: dict[int, float]  # each further lookup of the same layer
    key_bytes: dict[int, int]  # keys of a circuit of one layer of CALIBRATION_LAYER lookups

    @staticmethod
    def _at(table: dict[int, float], bits: int) -> float:
        if bits in table:
            return table[bits]
        widest, narrowest = max(table), min(table)
        if bits > widest:
            return table[widest] * PER_EXTRA_BIT ** (bits - widest)
        return table[narrowest]

    def step_s(self, lookups: int, bits: int) -> float:
        """``lookups`` lookups of ``bits`` bits side by side (a layer's step), overhead apart."""
        if lookups <= 0:
            return 0.0
        first = max(0.0, self._at(self.first_s, bits) - self.overhead_s)
        return first + (lookups - 1) * self._at(self.each_s, bits)

    def latency_s(self, layers: list[LayerLookups]) -> float:
        """A circuit of these hidden layers, one step after the other, plus the overhead."""
        return self.overhead_s + sum(self.step_s(layer.lookups, layer.bits) for layer in layers)

    def keys_bytes(self, layers: list[LayerLookups]) -> int:
        """Keys: one set per precision the lookups use (none without lookups)."""
        precisions = {bits for layer in layers if layer.neurons for bits in layer.key_precisions}
        return int(sum(self._at(self.key_bytes, bits) for bits in precisions))

    def circuit_latency_s(self, stats: CircuitStats) -> float:
        """The predicted steady-state latency per sample of a compiled circuit."""
        return self.latency_s(compiled_layers(stats))

    def circuit_keys_bytes(self, stats: CircuitStats) -> int:
        """The keys predicted for a compiled circuit's lookups (Concrete's own figure is exact)."""
        return self.keys_bytes(compiled_layers(stats))

    def to_dict(self) -> dict:
        return dict(overhead_s=self.overhead_s, first_s={str(k): v for k, v in self.first_s.items()},
                    each_s={str(k): v for k, v in self.each_s.items()},
                    key_bytes={str(k): v for k, v in self.key_bytes.items()})

    @classmethod
    def from_dict(cls, values: dict) -> "LookupTimes":
        def ints(table):
            return {int(k): v for k, v in table.items()}

        return cls(float(values["overhead_s"]), ints(values["first_s"]), ints(values["each_s"]),
                   ints(values["key_bytes"]))


def compiled_layers(stats: CircuitStats) -> list[LayerLookups]:
    """A compiled circuit's hidden layers as lookups: its tables, and rounding's lookups apart."""
    layers = []
    for layer in stats.layers:
        if not layer.lookups:
            continue
        neurons = layer.tables or layer.lookups
        rounded = layer.round_bits if layer.lookups > neurons else 0  # approximate rounding adds none
        layers.append(LayerLookups(neurons, layer.lookup_bits, rounded))
    return layers


def measure_lookup_times(samples: int = 4, bits: tuple[int, ...] = CALIBRATED_BITS,
                         on_progress: Optional[Callable[[int, int], None]] = None,
                         should_stop: Optional[Callable[[], bool]] = None) -> Optional[LookupTimes]:
    """Time a circuit without lookups, then at each precision a layer of one lookup and one of
    ``CALIBRATION_LAYER``: fresh keys, a warm-up sample, then the median of ``samples`` encrypted
    samples. ``on_progress(done, total)`` follows each circuit; None when stopped."""
    circuits = [(0, 0)] + [(precision, size) for precision in bits for size in (1, CALIBRATION_LAYER)]
    times, keys = {}, {}
    for done, (precision, size) in enumerate(circuits, start=1):
        if should_stop is not None and should_stop():
            return None
        circuit = compile_lookup_layer(precision, size, LOOKUP_P_ERROR)
        circuit.keys = generate_keys(circuit.client.specs)
        row = np.zeros(max(size, 1), dtype=np.int64)
        circuit.encrypt_run_decrypt(row)  # warm-up
        keep_broken_pipes_catchable()
        runs = []
        for _ in range(samples):
            start = time.perf_counter()
            circuit.encrypt_run_decrypt(row)
            runs.append(time.perf_counter() - start)
        times[precision, size] = float(np.median(runs))
        if size == CALIBRATION_LAYER:
            keys[precision] = int(circuit.size_of_secret_keys + circuit.size_of_bootstrap_keys
                                  + circuit.size_of_keyswitch_keys)
        if on_progress is not None:
            on_progress(done, len(circuits))
    first = {p: times[p, 1] for p in bits}
    each = {p: max(0.0, (times[p, CALIBRATION_LAYER] - times[p, 1]) / (CALIBRATION_LAYER - 1)) for p in bits}
    return LookupTimes(times[0, 0], first, each, keys)


# ---------------------------------------------------------------- before training

@dataclass(frozen=True)
class CircuitEstimate:
    """A configuration's circuit as predicted from its settings alone (worst case)."""

    accumulator_bits: int  # the widest hidden accumulator the settings allow
    lookup_bits: int  # the widest lookup (after rounding to the configuration's bound)
    pbs: int  # lookups, rounding's included
    layers: tuple[LayerLookups, ...]
    latency_s: Optional[float]  # None without this machine's lookup times
    key_bytes: Optional[int]


def worst_accumulator_bits(fan_in: int, bits: int, accumulator_bits: Optional[int] = None) -> int:
    """Bits of the widest accumulator of a neuron with ``fan_in`` inputs of ``bits`` unsigned bits
    and ``bits``-bit symmetric weights; A2Q+ weights guarantee ``accumulator_bits`` at most."""
    bound = fan_in * (2**bits - 1) * (2 ** (bits - 1) - 1)
    worst = bits_for_range(-bound, bound)
    return min(worst, accumulator_bits) if accumulator_bits is not None else worst


def estimate_circuit(config: ExperimentConfig, times: Optional[LookupTimes] = None) -> CircuitEstimate:
    """The circuit ``config`` will compile to at worst: each hidden layer's accumulator from its
    fan-in (the pruning budget caps it), bits and A2Q target; its lookups bounded by
    ``config.lookup_bits`` (exact rounding adds a lookup per neuron and bit rounded away); latency
    and keys from ``times`` when this machine has been measured."""
    neurons = config.neurons_kept or config.n_hidden
    fan_in = config.data.n_features
    layers, widest_acc = [], 0
    for _ in range(config.n_layers):
        if config.pruning_budget is not None:
            fan_in = min(fan_in, config.pruning_budget)
        acc = min(worst_accumulator_bits(fan_in, config.bits, config.accumulator_bits), MAX_LOOKUP_BITS)
        widest_acc = max(widest_acc, acc)
        lookup = min(acc, config.lookup_bits) if config.lookup_bits is not None else acc
        layers.append(LayerLookups(neurons, lookup, acc - lookup if config.rounding == "exact" else 0))
        fan_in = neurons
    lookup_bits = max((layer.bits for layer in layers), default=0)
    latency = times.latency_s(layers) if times is not None else None
    key_bytes = times.keys_bytes(layers) if times is not None else None
    return CircuitEstimate(widest_acc, lookup_bits, sum(layer.lookups for layer in layers), tuple(layers),
                           latency, key_bytes)
