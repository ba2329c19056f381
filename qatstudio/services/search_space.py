"""What the optimizer searches (``services.optimize``): the levers, their default values, and the
candidates they make on a user's data. Light to import: the command line's options read it."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Optional

from ..engine.config import BOUNDS, ExperimentConfig, ModelKind
from .ranges import parse_values, values_text

TOLERANCE = 0.005  # validation accuracy a winner may give up against the best found
ENCRYPTED_SAMPLES = 3  # the winner's encrypted test samples: a warm-up, then the steady state


@dataclass(frozen=True)
class SearchSpace:
    """The levers the search combines. Small networks trained from scratch: hidden layers (0 is a
    linear model, no lookup at all), neurons, bits, pruning budgets, A2Q+ targets. And the default
    recipe's network pruned whole neurons at a time (structured pruning) down to ``kept`` neurons
    per layer: trained wide, it keeps the wide network's accuracy far better than a small one does."""

    layers: tuple[int, ...] = (0, 1, 2)
    neurons: tuple[int, ...] = (8, 16, 32)
    bits: tuple[int, ...] = (3,)
    budgets: tuple[Optional[int], ...] = (None,)
    accumulator_targets: tuple[Optional[int], ...] = (None,)
    kept: tuple[int, ...] = (6, 8, 12, 16)


@dataclass(frozen=True)
class Levers:
    """A search space as written (see ``sweep.parse_values``), as the window's fields and the command
    line's options take it."""

    layers: str
    neurons: str
    bits: str
    budgets: str
    kept: str

    @classmethod
    def of(cls, space: SearchSpace) -> "Levers":
        return cls(values_text(space.layers), values_text(space.neurons), values_text(space.bits),
                   values_text(space.budgets), values_text(space.kept) or "off")

    def space(self) -> tuple[Optional[SearchSpace], list[str]]:
        """The space these levers name, or None and the reasons in words."""
        layers, p1 = parse_values(self.layers, BOUNDS["n_layers"], "hidden layers")
        neurons, p2 = parse_values(self.neurons, BOUNDS["n_hidden"], "hidden neurons")
        bits, p3 = parse_values(self.bits, BOUNDS["bits"], "bit-widths")
        budgets, p4 = parse_values(self.budgets, BOUNDS["pruning_budget"], "pruning budgets")
        kept, p5 = parse_values(self.kept, BOUNDS["neurons_kept"], "neurons kept")
        problems = p1 + p2 + p3 + p4 + p5
        if problems:
            return None, problems
        return SearchSpace(layers=tuple(layers), neurons=tuple(neurons), bits=tuple(bits), budgets=tuple(budgets),
                           kept=tuple(k for k in kept if k is not None)), []


def default_recipe(base: ExperimentConfig) -> ExperimentConfig:
    """The default recipe on ``base``'s data, with its seed, restarts and schedule."""
    return ExperimentConfig.default_recipe(data=base.data, seed=base.seed, restarts=base.restarts,
                                           epochs=base.epochs, batch_size=base.batch_size)


def candidates(base: ExperimentConfig, space: SearchSpace = SearchSpace()) -> list[ExperimentConfig]:
    """Every valid configuration of ``space`` on ``base``'s data, each once, in no special order."""
    recipe = default_recipe(base)
    found: dict[tuple, ExperimentConfig] = {
        ("kept", kept): recipe.replace(neurons_kept=kept) for kept in space.kept if kept < recipe.n_hidden}
    for layers, neurons, bits, budget, target in itertools.product(
            space.layers, space.neurons, space.bits, space.budgets, space.accumulator_targets):
        if layers == 0:
            neurons, target = 1, None  # a linear model has no hidden neuron
        config = base.replace(kind=ModelKind.QAT, n_layers=layers, n_hidden=neurons, bits=bits, pruning_budget=budget,
                              accumulator_bits=target, neurons_kept=None, round_bits=0)
        if not config.problems():
            found.setdefault(_identity(config), config)
    return list(found.values())


def _identity(config: ExperimentConfig) -> tuple:
    """What makes two candidates different circuits (a budget above every fan-in prunes nothing)."""
    widest = max(config.data.n_features, config.n_hidden if config.n_layers else 0)
    budget = config.pruning_budget if config.pruning_budget is not None and config.pruning_budget < widest else None
    return config.n_layers, config.n_hidden, config.bits, budget, config.accumulator_bits


def search_plan(base: ExperimentConfig, space: SearchSpace = SearchSpace()) -> list[ExperimentConfig]:
    """What the search trains at most, in no special order: the default recipe on ``base``'s data
    (it sets the accuracy to keep) and every candidate of ``space``."""
    return [default_recipe(base)] + candidates(base, space)
