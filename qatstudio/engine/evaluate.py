"""Accuracies of one experiment at every stage, and how far the stages agree."""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Callable, Optional

import numpy as np
from torch import nn

from .data import Dataset
from .fhe import CompiledModel, KeygenResult
from .integer import IntegerMLP
from .training import predict


@dataclass
class Metrics:
    ceiling_accuracy: Optional[float] = None  # the best any classifier can reach on the test points
    validation_accuracy: Optional[float] = None  # the integer model on the validation points (what chose it)
    float_accuracy: Optional[float] = None  # the fp32 model (the float kind, pruned or not)
    brevitas_accuracy: Optional[float] = None  # the Brevitas model: QAT, or the post-training quantized one
    clear_accuracy: Optional[float] = None  # the integer model in the clear
    agreement_brevitas_clear: Optional[float] = None
    fhe_simulated_accuracy: Optional[float] = None  # all test points
    agreement_clear_simulated: Optional[float] = None
    fhe_executed_accuracy: Optional[float] = None  # on the first ``fhe_executed_samples`` test points
    fhe_executed_samples: int = 0
    agreement_clear_executed: Optional[float] = None
    fhe_latency_s: Optional[float] = None  # steady state: the median per sample after the first
    fhe_warmup_s: Optional[float] = None  # the first sample after key generation (one-time warm-up)
    keygen_s: Optional[float] = None
    keygen_from_cache: Optional[bool] = None
    class_accuracy: Optional[list[Optional[float]]] = None  # per true class, the integer model in the clear
    confusion: Optional[list[list[int]]] = None  # counts: rows the true class, columns the predicted one

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Metrics":
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.asarray(predictions) == np.asarray(labels)))


def evaluate_clear(
    dataset: Dataset, quantized: IntegerMLP, brevitas_model: nn.Module, float_model: Optional[nn.Module] = None
) -> Metrics:
    """Float, Brevitas and clear-integer accuracies on the test set."""
    metrics = Metrics(ceiling_accuracy=dataset.ceiling_accuracy)
    if float_model is not None:
        metrics.float_accuracy = accuracy(predict(float_model, dataset.x_test), dataset.y_test)
    brevitas_predictions = predict(brevitas_model, dataset.x_test)
    clear_predictions = quantized.predict(dataset.x_test)
    metrics.brevitas_accuracy = accuracy(brevitas_predictions, dataset.y_test)
    metrics.clear_accuracy = accuracy(clear_predictions, dataset.y_test)
    metrics.validation_accuracy = accuracy(quantized.predict(dataset.x_val), dataset.y_val)
    metrics.agreement_brevitas_clear = accuracy(brevitas_predictions, clear_predictions)
    metrics.confusion = confusion_matrix(clear_predictions, dataset.y_test, dataset.n_classes)
    metrics.class_accuracy = class_accuracies(metrics.confusion)
    return metrics


def confusion_matrix(predictions: np.ndarray, labels: np.ndarray, n_classes: int) -> list[list[int]]:
    """Counts of (true class, predicted class) pairs."""
    pairs = np.asarray(labels, dtype=np.int64) * n_classes + np.asarray(predictions, dtype=np.int64)
    return np.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes).tolist()


def class_accuracies(confusion: list[list[int]]) -> list[Optional[float]]:
    """Per true class, the share predicted right (None for a class with no test point)."""
    return [row[index] / sum(row) if sum(row) else None for index, row in enumerate(confusion)]


def evaluate_simulated(
    metrics: Metrics, dataset: Dataset, compiled: CompiledModel, should_stop: Optional[Callable[[], bool]] = None
) -> Metrics:
    """FHE simulation on every test point (raises fhe.Cancelled if stopped).

    Each point is simulated on its own, not once per distinct input as predict_simulated does:
    approximate rounding is simulated with random draws, and the agreement must count each point.
    """
    simulated = compiled.model.dequantize_outputs(
        compiled.simulate(compiled.model.quantize_inputs(dataset.x_test), should_stop)
    ).argmax(axis=1)
    metrics.fhe_simulated_accuracy = accuracy(simulated, dataset.y_test)
    metrics.agreement_clear_simulated = accuracy(simulated, compiled.model.predict(dataset.x_test))
    return metrics


def evaluate_encrypted(
    metrics: Metrics,
    dataset: Dataset,
    compiled: CompiledModel,
    n_samples: int,
    keygen: Optional[KeygenResult] = None,
    should_stop: Optional[Callable[[], bool]] = None,
    on_sample: Optional[Callable[[int, int, float], None]] = None,
) -> Metrics:
    """Real encrypt-run-decrypt on the first ``n_samples`` test points (keys must exist).

    A cancelled run keeps the figures of the samples that finished.
    """
    x = dataset.x_test[:n_samples]
    run = compiled.run_encrypted(compiled.model.quantize_inputs(x), should_stop, on_sample)
    done = len(run.latencies_s)
    if keygen is not None:
        metrics.keygen_s, metrics.keygen_from_cache = keygen.seconds, keygen.from_cache
    metrics.fhe_executed_samples = done
    if done:
        executed = compiled.model.dequantize_outputs(run.outputs).argmax(axis=1)
        metrics.fhe_executed_accuracy = accuracy(executed, dataset.y_test[:done])
        metrics.agreement_clear_executed = accuracy(executed, compiled.model.predict(x[:done]))
        metrics.fhe_warmup_s = run.latencies_s[0]
        metrics.fhe_latency_s = statistics.median(run.latencies_s[1:]) if done > 1 else None
    else:
        metrics.fhe_executed_accuracy = metrics.agreement_clear_executed = None
        metrics.fhe_latency_s = metrics.fhe_warmup_s = None
    return metrics
