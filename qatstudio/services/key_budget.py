"""Whether a circuit's keys may be made without asking: their predicted size against a threshold,
this machine's free memory, and the free disk where the key cache keeps them."""
from __future__ import annotations

import shutil
from pathlib import Path

import psutil

from typing import Optional

from ..engine.config import LOOKUP_P_ERROR, ExperimentConfig
from ..engine.cost import KeyCost, key_cost
from ..engine.fhe import CompiledModel
from .formatting import fmt_bytes, fmt_eta, fmt_seconds
from .keys import KeyCache

# Keys above this size are made only once the user says yes (the window asks, the CLI wants --yes).
ASK_ABOVE_BYTES = 2_000_000_000
CHEAPER_LOOKUP_BITS = 5


def keys_to_make(compiled: CompiledModel, cache: KeyCache) -> Optional[KeyCost]:
    """The predicted cost of ``compiled``'s keys when ``cache`` doesn't hold them yet; None when it does."""
    return None if cache.path_for(compiled).exists() else key_cost(compiled.stats)


def keygen_progress(cost: KeyCost, elapsed_s: float) -> str:
    """Key generation under way: '12.0 s so far, ETA 2.0 s (predicted)'."""
    return f"{fmt_seconds(elapsed_s)} so far, {fmt_eta(max(cost.keygen_s - elapsed_s, 0.0))} (predicted)"


def key_cost_problems(cost: KeyCost, folder: Path) -> list[str]:
    """Why making these keys needs the user's yes, in words (empty: go ahead)."""
    problems = []
    if cost.key_bytes > ASK_ABOVE_BYTES:
        problems.append(f"the keys would take {fmt_bytes(cost.key_bytes)}, more than {fmt_bytes(ASK_ABOVE_BYTES)}")
    available = psutil.virtual_memory().available
    if cost.memory_bytes > available:
        problems.append(f"making them needs about {fmt_bytes(cost.memory_bytes)} of memory and "
                        f"{fmt_bytes(available)} is free")
    existing = Path(folder)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if cost.key_bytes > free:
        problems.append(f"the key cache's disk has {fmt_bytes(free)} free")
    return problems


def describe_key_cost(cost: KeyCost) -> str:
    """'keys of 344.0 MB, about 14 s and 860.0 MB of memory to make'."""
    return (f"keys of {fmt_bytes(cost.key_bytes)}, about {fmt_seconds(cost.keygen_s)} and "
            f"{fmt_bytes(cost.memory_bytes)} of memory to make")


def cheaper_settings(config: ExperimentConfig) -> str:
    """Which settings make the keys cheaper, for this configuration."""
    hints = []
    if config.lookup_bits is None or config.lookup_bits > CHEAPER_LOOKUP_BITS:
        hints.append(f"bound the widest lookup to {CHEAPER_LOOKUP_BITS} bits")
    if config.p_error is None or config.p_error < LOOKUP_P_ERROR:
        hints.append(f"allow an error probability of {LOOKUP_P_ERROR:.2g} per lookup")
    if config.rounding != "approximate":
        hints.append("use approximate rounding (FHE may then disagree with the clear model on a few points)")
    if config.pruning_budget is None or config.pruning_budget > 8:
        hints.append("lower the pruning budget")
    hints.append("lower the bit-width")
    return "; ".join(hints)
