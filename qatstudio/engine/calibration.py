"""The input quantizer's step: chosen from the data before training (QAT) or after it (PTQ)."""
from __future__ import annotations

from typing import Optional

import numpy as np


def candidate_steps(x: np.ndarray, levels: int, signed: bool, per_level: int = 64) -> np.ndarray:
    """Input steps that span the data with 1..``levels`` steps, coarsest first."""
    x = np.asarray(x, dtype=np.float64)
    reach = float(np.abs(x).max() if signed else x.max())
    reach = reach if reach > 0 else 1.0
    return reach / np.linspace(1.0, levels, per_level * (levels - 1) + 1)


def step_scores(x: np.ndarray, y: np.ndarray, steps: np.ndarray, levels: int, signed: bool,
                x_eval: Optional[np.ndarray] = None, y_eval: Optional[np.ndarray] = None) -> np.ndarray:
    """For each step, the share of points that agree with the majority label of their integer cell:
    the best accuracy any network reading the quantized input can reach. Majorities are counted on
    (x, y) and scored on (x_eval, y_eval), by default the same points."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.int64)
    x_eval = x if x_eval is None else np.asarray(x_eval, dtype=np.float64)
    y_eval = y if y_eval is None else np.asarray(y_eval, dtype=np.int64)
    n_classes = int(max(y.max(), y_eval.max())) + 1
    low = -levels if signed else 0
    shape = (levels - low + 1,) * x.shape[1]

    def cells(points, step):
        return np.ravel_multi_index((np.clip(np.round(points / step), low, levels).astype(np.int64) - low).T, shape)

    scores = np.empty(len(steps))
    for index, step in enumerate(steps):
        counts = np.bincount(cells(x, step) * n_classes + y, minlength=int(np.prod(shape)) * n_classes)
        majority = counts.reshape(-1, n_classes).argmax(axis=1)
        scores[index] = np.mean(majority[cells(x_eval, step)] == y_eval)
    return scores


def best_input_scale(x: np.ndarray, y: np.ndarray, levels: int, signed: bool,
                     x_eval: Optional[np.ndarray] = None, y_eval: Optional[np.ndarray] = None) -> float:
    """The input step that keeps the most label information after rounding.

    Majorities are counted on the training points (x, y) and scored on (x_eval, y_eval), the
    validation points, when given (else on the training points themselves).

    The score of the single best step (``step_scores``) follows this training set's jitter; the
    steps scoring within one standard error of the best form a run around it, and the centre of
    that run is the step that generalises (on the guide's board it lands on the band width 1/3
    within 0.1%). Measured against other choices by ``benchmarks/input_step.py``.

    The score needs points in most cells: when the finest step has more cells than there are
    points (from 5 features at 3 bits on 10,000 points), each point would sit alone in its cell,
    so the step is the finest, the data's extent over the levels.
    """
    steps = candidate_steps(x, levels, signed)
    cells_at_finest = float(2 * levels + 1 if signed else levels + 1) ** np.shape(x)[1]
    if cells_at_finest > len(y):
        return float(steps[-1])
    scores = step_scores(x, y, steps, levels, signed, x_eval, y_eval)
    best = int(np.argmax(scores))
    scored = len(y) if y_eval is None else len(y_eval)
    tolerance = np.sqrt(scores[best] * (1 - scores[best]) / scored) + 1e-12
    first = last = best
    while first > 0 and scores[first - 1] >= scores[best] - tolerance:
        first -= 1
    while last < len(steps) - 1 and scores[last + 1] >= scores[best] - tolerance:
        last += 1
    return float((steps[first] + steps[last]) / 2)
