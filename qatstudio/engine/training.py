"""One training loop for float, pruned and quantization-aware models, reporting events."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import numpy as np
import torch
from torch import nn

from .config import ExperimentConfig
from .data import Dataset, calibration_rows
from .models import build_model, linear_layers
from .pruning import apply_masks, combine_masks, neuron_masks, structured_masks


@dataclass
class Step:
    """Reported after every optimiser step."""

    step: int
    total_steps: int
    epoch: int
    loss: float
    elapsed_s: float

    @property
    def eta_s(self) -> float:
        return self.elapsed_s / self.step * (self.total_steps - self.step) if self.step else math.nan


@dataclass
class Epoch:
    """Reported at the end of every epoch, with the decision boundary on the data set's grid."""

    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    boundary: np.ndarray  # (rows, cols) probability of class 1; with k > 2 classes (rows, cols, k) probabilities
    elapsed_s: float


@dataclass
class Done:
    cancelled: bool
    epochs_completed: int
    elapsed_s: float


Event = Union[Step, Epoch, Done]


@dataclass
class TrainResult:
    model: nn.Module
    history: list[Epoch] = field(default_factory=list)
    cancelled: bool = False
    elapsed_s: float = 0.0

    @property
    def test_accuracy(self) -> float:
        return self.history[-1].test_accuracy if self.history else math.nan


def _as_tensor(logits) -> torch.Tensor:
    return logits.value if hasattr(logits, "value") else logits


@torch.no_grad()
def predict_logits(model: nn.Module, x: np.ndarray, batch: int = 8192) -> np.ndarray:
    """Float logits of ``model`` on ``x`` (eval mode; the caller's mode is restored)."""
    was_training = model.training
    model.eval()
    try:
        parts = [
            _as_tensor(model(torch.tensor(x[i : i + batch], dtype=torch.float32))).numpy()
            for i in range(0, len(x), batch)
        ]
    finally:
        model.train(was_training)
    return np.concatenate(parts)


def predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    return predict_logits(model, x).argmax(axis=1)


def _loss_and_accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    logits = predict_logits(model, x)
    loss = nn.functional.cross_entropy(torch.from_numpy(logits), torch.tensor(y)).item()
    return loss, float((logits.argmax(axis=1) == y).mean())


def boundary_image(model: nn.Module, dataset: Dataset) -> np.ndarray:
    """Over the data set's boundary grid: the probability of class 1, shaped (rows, cols), or with
    more than two classes every class's probability, shaped (rows, cols, k)."""
    probs = torch.softmax(torch.from_numpy(predict_logits(model, dataset.grid)), dim=1).numpy()
    if probs.shape[1] == 2:
        return probs[:, 1].reshape(dataset.grid_shape).astype(np.float32)
    return probs.reshape(*dataset.grid_shape, probs.shape[1]).astype(np.float32)


# Pruning is gradual: the input budget shrinks from dense to the target between these shares of
# the training steps (cubic schedule), the mask re-chosen from the weights every PRUNE_UPDATES-th
# of that span, then held to the end.
PRUNE_START, PRUNE_END, PRUNE_UPDATES = 0.05, 0.3, 10


def train(
    config: ExperimentConfig,
    dataset: Dataset,
    on_event: Optional[Callable[[Event], None]] = None,
    should_stop: Optional[Callable[[], bool]] = None,
    model: Optional[nn.Module] = None,
) -> TrainResult:
    """Train a model for ``config`` on ``dataset``; deterministic for a given seed.

    ``on_event`` receives Step, Epoch and finally Done events. ``should_stop`` is polled every step:
    when it returns True the loop stops after the current step, and the model is left consistent
    (pruning masks applied, eval mode).
    """
    config.validate()
    emit = on_event or (lambda event: None)
    stop = should_stop or (lambda: False)
    torch.manual_seed(config.seed)
    model = model if model is not None else build_model(config, *calibration_rows(dataset))
    layers = linear_layers(model)

    x_train = torch.tensor(dataset.x_train)
    y_train = torch.tensor(dataset.y_train)
    steps_per_epoch = math.ceil(len(x_train) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    if config.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=total_steps, pct_start=0.15
    )
    generator = torch.Generator().manual_seed(config.seed)
    loss_fn = nn.CrossEntropyLoss()

    prunes = config.pruning_budget is not None or config.neurons_kept is not None
    prune_start, prune_end = round(PRUNE_START * total_steps), round(PRUNE_END * total_steps)
    prune_every = max(1, (prune_end - prune_start) // PRUNE_UPDATES)
    widest = max(layer.weight.shape[1] for layer in layers)
    masks = None

    def budget_at(step: int) -> Optional[int]:
        if config.pruning_budget is None:
            return None
        progress = 1.0 if step >= prune_end else (step - prune_start) / (prune_end - prune_start)
        return config.pruning_budget + math.ceil((widest - config.pruning_budget) * (1 - progress) ** 3)

    def choose_masks(budget: Optional[int]):
        chosen = [None] * len(layers)
        if config.neurons_kept is not None:
            chosen = structured_masks(layers, config.neurons_kept)
        if budget is not None:
            apply_masks(layers, chosen)  # the input budget is chosen among the neurons kept
            chosen = combine_masks(chosen, neuron_masks(layers, budget))
        return chosen

    result = TrainResult(model=model)
    start = time.perf_counter()
    step = 0
    cancelled = False
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for first in range(0, len(order), config.batch_size):
            if prunes and prune_start <= step <= prune_end and (
                (step - prune_start) % prune_every == 0 or step == prune_end
            ):
                masks = choose_masks(budget_at(step))
                apply_masks(layers, masks)
            if stop():
                cancelled = True
                break
            batch = order[first : first + config.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(_as_tensor(model(x_train[batch])), y_train[batch])
            loss.backward()
            optimizer.step()
            schedule.step()
            if masks is not None:
                apply_masks(layers, masks)
            step += 1
            emit(Step(step, total_steps, epoch, float(loss.detach()), time.perf_counter() - start))
        if cancelled:
            break
        train_loss, train_acc = _loss_and_accuracy(model, dataset.x_train, dataset.y_train)
        test_loss, test_acc = _loss_and_accuracy(model, dataset.x_test, dataset.y_test)
        record = Epoch(
            epoch, config.epochs, train_loss, train_acc, test_loss, test_acc,
            boundary_image(model, dataset), time.perf_counter() - start,
        )
        result.history.append(record)
        emit(record)
    if prunes and (masks is None or step < prune_end):
        # Cancelled before the last mask was chosen: prune now so the model honours its budget.
        apply_masks(layers, choose_masks(config.pruning_budget))
    model.eval()
    result.cancelled = cancelled
    result.elapsed_s = time.perf_counter() - start
    emit(Done(cancelled, len(result.history), result.elapsed_s))
    return result
