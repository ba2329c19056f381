"""What a compiled circuit's keys will cost before they are made: size, memory and time.

The size is Concrete's own figure for the circuit (secret, bootstrap and key-switch keys). Key
generation time and peak memory grow with it, at the rates below.
"""
from __future__ import annotations

from dataclasses import dataclass

from .fhe import CircuitStats

# Seconds of key generation per GB of keys: 17-29 s/GB on the four tables of benchmarks/tables.py
# (0.46-0.77 GB, 2 cores shared with other work, 2026-12-07). Peak memory per byte of keys: the
# keys, their serialized copy for the cache and Concrete's buffers; an allowance, not yet measured.
KEYGEN_SECONDS_PER_GB = 20.0
PEAK_MEMORY_PER_KEY_BYTE = 2.5


@dataclass(frozen=True)
class KeyCost:
    key_bytes: int
    memory_bytes: int
    keygen_s: float


def key_cost(stats: CircuitStats) -> KeyCost:
    """The predicted cost of generating the keys of the circuit ``stats`` describes."""
    size = stats.key_bytes
    return KeyCost(size, int(size * PEAK_MEMORY_PER_KEY_BYTE), size / 1e9 * KEYGEN_SECONDS_PER_GB)
