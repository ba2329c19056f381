"""Ranges of values as a user writes them ('30, 100', '6-8', '10-50/20', 'off'): read into lists
within a setting's bounds, for sweeps and the optimizer alike, in the window and on the command line.
Light to import: the command line's options read it."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..engine.config import Bound

MAX_RANGE = 64  # values one range (a-b) may expand to
OFF_WORDS = ("off", "none", "-")  # what a range's None may be written as (shown as "off")


def values_text(values) -> str:
    """Values as a range field shows them ('30, 100', 'off, 20'): what ``parse_values`` reads back."""
    return ", ".join("off" if value is None else str(value) for value in values)


def parse_values(text: str, bound: Bound, words: str) -> tuple[list, list[str]]:
    """'10, 30 100', '6-8' or '10-50/20' (and 'off' where ``bound`` has an off value) into a list of
    values within ``bound``, with a reason in words (``words`` names the values) for each part that
    can't be read."""
    values, problems = [], []
    for token in [t for t in re.split(r"[,\s;]+", text.strip()) if t]:
        if bound.off and token.lower() in OFF_WORDS + (bound.off,):
            items = [None]
        else:
            match = re.fullmatch(r"(\d+)(?:-(\d+)(?:/(\d+))?)?", token)
            if not match:
                problems.append(f"{words}: can't read '{token}' (write numbers like 10, 30 or a range like 6-8"
                                + (", or 'off'" if bound.off else "") + ")")
                continue
            first, last, step = int(match[1]), int(match[2] or match[1]), int(match[3] or 1)
            if last < first or step < 1:
                problems.append(f"{words}: the range '{token}' is empty")
                continue
            items = list(range(first, last + 1, step))
            if len(items) > MAX_RANGE:
                problems.append(f"{words}: the range '{token}' has {len(items)} values (at most {MAX_RANGE})")
                continue
            bad = [v for v in items if not bound.low <= v <= bound.high]
            if bad:
                problems.append(f"{words} must be between {bound.low:,} and {bound.high:,} (got {bad[0]})")
                continue
        for item in items:
            if item not in values:
                values.append(item)
    if not values and not problems:
        problems.append(f"{words}: give at least one value")
    return values, problems


@dataclass(frozen=True)
class SweepRanges:
    """A sweep's ranges as written (see ``parse_values``); the defaults are the window's and the command line's."""

    neurons: str = "30, 100"
    bits: str = "3"
    budgets: str = "off, 20"
    seeds: str = "0"
