"""What a compiled circuit's keys will cost before they are made: size, memory and time.

The size is Concrete's own figure for the circuit (secret, bootstrap and key-switch keys). Key
generation time and peak memory grow with it; the rates below were measured on this project's
2-core machines (``benchmarks/key_sizes.py`` prints them again).
"""
from __future__ import annotations

from dataclasses import dataclass

from .fhe import CircuitStats

# Seconds of key generation per GB of keys, and the process's peak memory per byte of keys
# (the keys, their serialized copy for the cache, Concrete's working buffers).
KEYGEN_SECONDS_PER_GB = 40.0
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
