"""One training loop for float, pruned and quantization-aware models, reporting events."""
from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import numpy as np
import torch
from torch import nn

from .config import MAX_EPOCHS, ExperimentConfig
from .data import Dataset, calibration_rows
from .lowering import lower
from .models import STATS_STEPS, build_model, linear_layers
from .pruning import apply_masks, combine_masks, neuron_masks, structured_masks


@dataclass
class Step:
    """Reported after every optimizer step; ``step`` and ``total_steps`` count over all restarts."""

    step: int
    total_steps: int
    epoch: int
    loss: float
    elapsed_s: float
    epochs: int = 0  # of this restart
    restart: int = 0
    restarts: int = 1

    @property
    def eta_s(self) -> float:
        return self.elapsed_s / self.step * (self.total_steps - self.step) if self.step else math.nan


@dataclass
class Epoch:
    """Reported at every evaluation (the end of every ``Schedule.eval_every``-th epoch), with the
    decision boundary on the data set's grid. Validation chooses; test accuracy only reports."""

    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    boundary: np.ndarray  # (rows, cols) probability of class 1; with k > 2 classes (rows, cols, k) probabilities
    elapsed_s: float
    validation_loss: float = math.nan
    validation_accuracy: float = math.nan  # of the model as it would be compiled (QAT: the integer model)
    test_predictions: Optional[np.ndarray] = None  # classes of the test points
    restart: int = 0
    restarts: int = 1


@dataclass
class Done:
    cancelled: bool
    epochs_completed: int
    elapsed_s: float


Event = Union[Step, Epoch, Done]


@dataclass
class Schedule:
    """How long and in which batches one model trains, from the number of training rows."""

    epochs: int
    batch_size: int
    steps_per_epoch: int
    eval_every: int  # epochs between two evaluations

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch


# The automatic schedule: about TARGET_STEPS optimizer steps in batches of about one 120th of the
# training rows (a power of two in [MIN_BATCH, MAX_AUTO_BATCH]: 64 for the guide's 7,600), at least
# MIN_EPOCHS epochs, evaluated about EVALUATIONS times.
TARGET_STEPS, MIN_EPOCHS, EVALUATIONS = 3000, 3, 50
BATCH_SHARE, MIN_BATCH, MAX_AUTO_BATCH = 120, 16, 1024
# Early stopping: once pruning has reached its budget and half the steps are done, a model whose
# validation has not improved for PATIENCE evaluations stops.
PATIENCE, EARLY_STOP_FROM = 10, 0.5
# Restart k trains with seed config.seed + RESTART_SEED_STRIDE * k.
RESTART_SEED_STRIDE = 1000


def restart_seed(config: ExperimentConfig, restart: int) -> int:
    return config.seed + RESTART_SEED_STRIDE * restart


def kept_evaluation(history: list[Epoch], kept_epoch: Optional[int]) -> Optional[Epoch]:
    """The evaluation whose model was kept: the one at ``kept_epoch``, or (files from before
    validation chose, which kept none) the last one; None without evaluations."""
    if not history:
        return None
    return next((record for record in history if record.epoch == kept_epoch), history[-1])


def schedule_for(config: ExperimentConfig, n_train: int) -> Schedule:
    """The configuration's epochs and batch size, each from the data's size where left automatic."""
    batch = config.batch_size
    if batch is None:
        batch = int(np.clip(2 ** round(math.log2(max(n_train, 1) / BATCH_SHARE)), MIN_BATCH, MAX_AUTO_BATCH))
    steps_per_epoch = max(1, math.ceil(n_train / batch))
    epochs = config.epochs
    if epochs is None:
        epochs = int(np.clip(math.ceil(TARGET_STEPS / steps_per_epoch), MIN_EPOCHS, MAX_EPOCHS))
    return Schedule(epochs, batch, steps_per_epoch, max(1, math.ceil(epochs / EVALUATIONS)))


@dataclass
class TrainResult:
    model: nn.Module  # the kept model: the best on validation over every restart and evaluation
    history: list[Epoch] = field(default_factory=list)  # the kept restart's evaluations
    cancelled: bool = False
    elapsed_s: float = 0.0
    kept_epoch: Optional[int] = None
    kept_restart: int = 0
    validation_accuracy: Optional[float] = None  # of the kept model
    stopped_early: bool = False  # the kept restart stopped on its patience

    @property
    def test_accuracy(self) -> float:
        kept = self.kept_record
        return kept.test_accuracy if kept is not None else math.nan

    @property
    def kept_record(self) -> Optional[Epoch]:
        return kept_evaluation(self.history, self.kept_epoch)


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


def validation_score(config: ExperimentConfig, model: nn.Module, dataset: Dataset) -> tuple[float, float]:
    """(accuracy, loss) on the validation points. The accuracy is the compiled model's: a QAT
    model is lowered as it would be compiled (its lookups bounded), a float one is read as is."""
    loss, float_accuracy = _loss_and_accuracy(model, dataset.x_val, dataset.y_val)
    if not config.is_quantization_aware:
        return float_accuracy, loss
    integer_model = lower(model, dataset.x_train, config.lookup_bits)
    return float(np.mean(integer_model.predict(dataset.x_val) == dataset.y_val)), loss


@dataclass
class _Best:
    score: tuple[float, float] = (-math.inf, -math.inf)
    state: Optional[dict] = None
    restart: int = 0
    epoch: Optional[int] = None
    history: list[Epoch] = field(default_factory=list)
    stopped_early: bool = False


def train(
    config: ExperimentConfig,
    dataset: Dataset,
    on_event: Optional[Callable[[Event], None]] = None,
    should_stop: Optional[Callable[[], bool]] = None,
    model: Optional[nn.Module] = None,
) -> TrainResult:
    """Train ``config.restarts`` models for ``config`` on ``dataset`` and keep the best on
    validation (over every restart and evaluation); deterministic for a given seed.

    ``model``: train this model (any chain ``lowering`` accepts, e.g. the guide's own network)
    instead of building one; it is then the only restart.

    ``on_event`` receives Step and Epoch events and finally Done. ``should_stop`` is polled every
    step: when it returns True training stops after the current step and the best model so far is
    kept (pruning masks applied, eval mode).
    """
    config.validate()
    schedule = schedule_for(config, len(dataset.y_train))
    with _threads_for(schedule.batch_size):
        return _train(config, dataset, schedule, on_event, should_stop, model)


# Batches up to this size train on one thread: their matrices are too small for a second thread to
# pay much, and it costs a lot when the other core is busy (iris, 100 neurons, 50 epochs, other
# work beside it: 13.6 s on one thread, 56.8 s on two; the board, 5 epochs, calm: 6.8 s and 5.8 s).
ONE_THREAD_BATCH = 256


@contextlib.contextmanager
def _threads_for(batch_size: int):
    before = torch.get_num_threads()
    if batch_size <= ONE_THREAD_BATCH:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train(config: ExperimentConfig, dataset: Dataset, schedule: Schedule, on_event, should_stop,
           given: Optional[nn.Module]) -> TrainResult:
    emit = on_event or (lambda event: None)
    stop = should_stop or (lambda: False)
    x_calib, y_calib = calibration_rows(dataset)
    start = time.perf_counter()
    best = _Best()
    model = None
    cancelled = False
    restarts = 1 if given is not None else config.restarts

    def build(restart: int) -> nn.Module:
        return build_model(config, x_calib, y_calib, dataset.x_val, dataset.y_val, seed=restart_seed(config, restart))

    for restart in range(restarts):
        model = given if given is not None else build(restart)
        history, cancelled, stopped_early = _train_one(
            config, dataset, model, schedule, restart_seed(config, restart), restart, restarts, best, emit, stop,
            start)
        if best.state is not None and best.restart == restart:
            best.history, best.stopped_early = history, stopped_early
        if cancelled:
            break
    kept_last = best.restart == restart and history and best.epoch == history[-1].epoch
    if best.state is not None and not kept_last:  # the kept model is not the one just trained: reload it
        if best.restart != restart:
            model = build(best.restart)
        model.load_state_dict(best.state)
    model.eval()
    result = TrainResult(model, best.history, cancelled, time.perf_counter() - start, best.epoch, best.restart,
                         best.score[0] if best.state is not None else None, best.stopped_early)
    emit(Done(cancelled, len(result.history), result.elapsed_s))
    return result


def _train_one(config: ExperimentConfig, dataset: Dataset, model: nn.Module, schedule: Schedule, seed: int,
               restart: int, restarts: int, best: _Best, emit, stop, start: float) -> tuple[list[Epoch], bool, bool]:
    """One restart's training loop; updates ``best`` at every evaluation that beats it.
    Returns the restart's evaluations, whether it was cancelled and whether it stopped early."""
    layers = linear_layers(model)
    x_train = torch.tensor(dataset.x_train)
    y_train = torch.tensor(dataset.y_train)
    total_steps = schedule.total_steps
    all_steps = total_steps * restarts
    if config.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9)
    lr_schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=total_steps, pct_start=0.15
    )
    generator = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()

    prunes = config.pruning_budget is not None or config.neurons_kept is not None
    prune_start, prune_end = round(PRUNE_START * total_steps), round(PRUNE_END * total_steps)
    prune_every = max(1, (prune_end - prune_start) // PRUNE_UPDATES)
    widest = max(layer.weight.shape[1] for layer in layers)
    masks = None
    # An evaluation may be kept once the model is what it will be: pruned to its budget and past
    # the steps in which Brevitas collects its activation statistics.
    first_candidate = max(prune_end if prunes else 0, STATS_STEPS if config.is_quantization_aware else 0)
    early_stop_from = max(first_candidate, round(EARLY_STOP_FROM * total_steps))

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

    history: list[Epoch] = []
    step = 0
    cancelled = stopped_early = False
    since_better, restart_best = 0, -math.inf
    for epoch in range(1, schedule.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for first in range(0, len(order), schedule.batch_size):
            if prunes and prune_start <= step <= prune_end and (
                (step - prune_start) % prune_every == 0 or step == prune_end
            ):
                masks = choose_masks(budget_at(step))
                apply_masks(layers, masks)
            if stop():
                cancelled = True
                break
            batch = order[first : first + schedule.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(_as_tensor(model(x_train[batch])), y_train[batch])
            loss.backward()
            optimizer.step()
            lr_schedule.step()
            if masks is not None:
                apply_masks(layers, masks)
            step += 1
            emit(Step(restart * total_steps + step, all_steps, epoch, float(loss.detach()),
                      time.perf_counter() - start, schedule.epochs, restart, restarts))
        if cancelled:
            break
        if epoch % schedule.eval_every and epoch != schedule.epochs:
            continue
        if prunes and (masks is None or step < prune_end):
            apply_masks(layers, choose_masks(budget_at(step)))
        record = _evaluate(config, dataset, model, epoch, schedule.epochs, restart, restarts, start)
        history.append(record)
        emit(record)
        if step >= first_candidate:
            score = (record.validation_accuracy, -record.validation_loss)  # the loss breaks ties
            if score > best.score:
                best.score, best.restart, best.epoch = score, restart, epoch
                best.state = copy.deepcopy(model.state_dict())
            # patience counts evaluations without a better validation accuracy in this restart
            since_better = 0 if record.validation_accuracy > restart_best else since_better + 1
            restart_best = max(restart_best, record.validation_accuracy)
            if step >= early_stop_from and since_better >= PATIENCE:
                stopped_early = True
                break
    if prunes and (masks is None or step < prune_end):
        # Stopped before the last mask was chosen: prune now so the model honours its budget.
        apply_masks(layers, choose_masks(config.pruning_budget))
    if best.state is None and history:
        # Stopped before any evaluation could be kept: keep this model as it is now.
        best.restart, best.epoch, best.state = restart, history[-1].epoch, copy.deepcopy(model.state_dict())
        best.score = (history[-1].validation_accuracy, -history[-1].validation_loss)
    model.eval()
    return history, cancelled, stopped_early


def _evaluate(config: ExperimentConfig, dataset: Dataset, model: nn.Module, epoch: int, epochs: int,
              restart: int, restarts: int, start: float) -> Epoch:
    train_loss, train_acc = _loss_and_accuracy(model, dataset.x_train, dataset.y_train)
    test_logits = predict_logits(model, dataset.x_test)
    test_loss = nn.functional.cross_entropy(torch.from_numpy(test_logits), torch.tensor(dataset.y_test)).item()
    test_predictions = test_logits.argmax(axis=1)
    validation_accuracy, validation_loss = validation_score(config, model, dataset)
    return Epoch(epoch, epochs, train_loss, train_acc, test_loss, float(np.mean(test_predictions == dataset.y_test)),
                 boundary_image(model, dataset), time.perf_counter() - start, validation_loss, validation_accuracy,
                 test_predictions, restart, restarts)
