"""From a trained model to the integer IntegerMLP: the one path QAT and post-training
quantization share.

``lower`` traces a Brevitas model's forward (any module layout: only the order of the calls
matters), reads the integer weights and scales from Brevitas' own quantizers, and tabulates each
neuron's bias + ReLU + requantization by calling the model's own activation quantizer on every
accumulator value. ``ptq.post_training_quantize`` turns a float model into a Brevitas one
(calibrated on data) so that it goes through the very same ``lower``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from .errors import UserError
from .integer import IntegerLayer, IntegerMLP, bits_for_range, domain_inputs, enumerable, round_bits_for
from .models import AccumulatorRounding


class UnsupportedModelError(UserError, ValueError):
    """The model is not a chain of QuantIdentity, QuantLinear and ReLU that can be lowered."""

    title = "The model can't be turned into a circuit"


# ---------------------------------------------------------------- tracing

_RELU_FUNCTIONS = {"relu", "relu_"}
# Calls that read tensor metadata or pass values through unchanged.
_HARMLESS = {"__get__", "size", "dim", "shape", "numel", "contiguous", "__getitem__"}


@dataclass
class _Op:
    kind: str  # "quant", "linear", "relu", "round"
    module: Optional[nn.Module]
    name: str
    quant_input: object = None  # a linear layer's input QuantTensor (A2Q weights depend on it)


def _module_kind(module: nn.Module) -> Optional[str]:
    import brevitas.nn as qnn

    if isinstance(module, AccumulatorRounding):
        return "round"
    if isinstance(module, qnn.QuantLinear):
        return "linear"
    if isinstance(module, qnn.QuantReLU):
        return "quant_relu"
    if isinstance(module, qnn.QuantIdentity):
        return "quant"
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, (nn.Identity, nn.Dropout)):
        return "skip"
    return None


def trace_chain(model: nn.Module, sample: torch.Tensor) -> list[_Op]:
    """Run ``model`` once and record, in order, the layers and functions its forward applies."""
    ops: list[_Op] = []
    names = {module: name for name, module in model.named_modules()}
    inside: list[nn.Module] = []  # the known layer being executed, if any
    handles = []

    def pre_hook(module, args):
        if inside or module is model:
            return
        kind = _module_kind(module)
        if kind is None and not any(True for _ in module.children()):
            raise UnsupportedModelError(
                f"layer '{names[module]}' ({type(module).__name__}) can't be compiled: only QuantIdentity, "
                f"QuantLinear, QuantReLU and ReLU are supported"
            )
        if kind is None:
            return  # a container: look inside
        inside.append(module)
        if kind == "quant_relu":
            ops.append(_Op("relu", module, names[module]))
            ops.append(_Op("quant", module, names[module]))
        elif kind != "skip":
            ops.append(_Op(kind, module, names[module], args[0] if kind == "linear" and args else None))

    def post_hook(module, args, output):
        if inside and inside[-1] is module:
            inside.pop()

    for module in model.modules():
        handles.append(module.register_forward_pre_hook(pre_hook))
        handles.append(module.register_forward_hook(post_hook))

    class Recorder(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if not inside:
                name = getattr(func, "__name__", str(func))
                if name in _RELU_FUNCTIONS:
                    ops.append(_Op("relu", None, f"{name}()"))
                elif name not in _HARMLESS:
                    raise UnsupportedModelError(
                        f"operation '{name}' in the model's forward can't be compiled: only QuantIdentity, "
                        f"QuantLinear and ReLU (nn.ReLU, torch.relu, F.relu, QuantReLU) are supported"
                    )
            return func(*args, **(kwargs or {}))

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), Recorder():
            model(sample)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return ops


@dataclass
class _Stage:
    """One linear layer with the quantizer feeding it and the activation (None for the last)."""

    linear: nn.Module
    name: str
    activation: Optional[_Op]  # the quantizer after it
    relu_before_quant: bool
    quant_input: object = None
    round_bits: int = 0


def _parse_chain(ops: list[_Op]) -> tuple[nn.Module, list[_Stage]]:
    if not ops or ops[0].kind != "quant":
        first = ops[0].name if ops else "nothing"
        raise UnsupportedModelError(
            f"the model must start by quantizing its input with a QuantIdentity (it starts with {first})"
        )
    input_quant = ops[0].module
    stages: list[_Stage] = []
    i = 1
    while i < len(ops):
        op = ops[i]
        if op.kind != "linear":
            raise UnsupportedModelError(
                f"'{op.name}' must be followed by a QuantLinear; a {op.kind} there can't be compiled"
            )
        i += 1
        round_bits = 0
        if i < len(ops) and ops[i].kind == "round":
            round_bits = ops[i].module.lsbs
            i += 1
        relu = False
        while i < len(ops) and ops[i].kind == "relu":
            relu = True
            i += 1
        if i >= len(ops):
            if relu:
                raise UnsupportedModelError(
                    f"the last layer '{op.name}' must be a QuantLinear with no activation after it"
                )
            if round_bits:
                raise UnsupportedModelError(f"the last layer '{op.name}' can't round its accumulator")
            stages.append(_Stage(op.module, op.name, None, False, op.quant_input))
            break
        if ops[i].kind != "quant":
            raise UnsupportedModelError(
                f"the output of '{op.name}' must be quantized (QuantIdentity or QuantReLU) before the next layer"
            )
        stages.append(_Stage(op.module, op.name, ops[i], relu, op.quant_input, round_bits))
        i += 1
    if not stages or stages[-1].activation is not None:
        raise UnsupportedModelError("the model must end with a QuantLinear whose output is the prediction")
    return input_quant, stages


# ---------------------------------------------------------------- reading Brevitas' quantizers

def _quant_tensor(quantizer: nn.Module, values: torch.Tensor):
    """A QuantTensor out of ``quantizer`` whatever its return_quant_tensor setting."""
    saved = getattr(quantizer, "return_quant_tensor", None)
    if saved is not None:
        quantizer.return_quant_tensor = True
    try:
        return quantizer(values)
    finally:
        if saved is not None:
            quantizer.return_quant_tensor = saved


def _act_ints(quantizer: nn.Module, values: torch.Tensor) -> tuple[np.ndarray, float]:
    out = _quant_tensor(quantizer, values)
    if float(torch.as_tensor(out.zero_point).abs().max()) != 0.0:
        raise UnsupportedModelError("activation quantizers must have a zero zero-point")
    scale = torch.as_tensor(out.scale).detach().flatten()
    if scale.numel() != 1:
        raise UnsupportedModelError("activation quantizers must be per-tensor")
    return out.int().to(torch.int64).numpy(), float(scale[0])


def _act_range(quantizer: nn.Module) -> tuple[int, int]:
    """The integer clamp range of an activation quantizer, read by quantizing huge values."""
    ints, _ = _act_ints(quantizer, torch.tensor([-1e30, 1e30], dtype=torch.float32))
    return int(ints[0]), int(ints[1])


def _weights(linear: nn.Module, quant_input=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer weights (n_in, n_out), per-output scale and float bias of a QuantLinear."""
    if getattr(linear, "bias_quant", None) is not None and linear.bias_quant.is_quant_enabled:
        raise UnsupportedModelError("QuantLinear layers must have bias_quant=None (the bias is folded into tables)")
    if getattr(linear, "input_quant", None) is not None and linear.input_quant.is_quant_enabled:
        raise UnsupportedModelError("QuantLinear layers must not quantize their own input: use a QuantIdentity before")
    quant = linear.quant_weight(quant_input=quant_input) if hasattr(quant_input, "scale") else linear.quant_weight()
    if float(torch.as_tensor(quant.zero_point).abs().max()) != 0.0:
        raise UnsupportedModelError("weight quantizers must be symmetric (zero zero-point)")
    ints = quant.int().to(torch.int64).detach().numpy()
    scale = torch.as_tensor(quant.scale).detach().to(torch.float64).flatten().numpy()
    scale = np.broadcast_to(scale, (ints.shape[0],)).copy()
    bias = (
        linear.bias.detach().to(torch.float64).numpy()
        if linear.bias is not None
        else np.zeros(ints.shape[0])
    )
    return ints.T.copy(), scale, bias


def _bounds(weights: np.ndarray, in_min: np.ndarray, in_max: np.ndarray) -> tuple[int, int]:
    """Worst-case accumulator range over all neurons from the weights and per-input ranges."""
    lo = np.minimum(weights * in_min[:, None], weights * in_max[:, None]).sum(axis=0)
    hi = np.maximum(weights * in_min[:, None], weights * in_max[:, None]).sum(axis=0)
    return int(lo.min()), int(hi.max())


# ---------------------------------------------------------------- lowering

def lower(model: nn.Module, calibration: np.ndarray, lookup_bits: Optional[int] = None) -> IntegerMLP:
    """Lower a Brevitas model to the integer IntegerMLP.

    ``calibration`` (training inputs) fixes the input domain: the box of integer inputs the
    training data quantizes to. Every input of that box is enumerated when it is small enough
    (exact accumulator ranges); else each layer's worst-case bounds are its range. Either way the
    circuit built from them holds for any input in the box, not only for the data seen.

    With ``lookup_bits``, a hidden accumulator whose lookup would be wider is rounded (low bits
    away, beyond any the model already rounds) until it fits: the model's rounders must then be
    set to the layers' ``round_bits`` for it to stay the circuit's twin (``pipeline.quantize``).
    """
    calibration = np.asarray(calibration, dtype=np.float32)
    sample = torch.tensor(calibration[:4])
    input_quant, stages = _parse_chain(trace_chain(model, sample))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return _lower_stages(input_quant, stages, calibration, lookup_bits)
    finally:
        model.train(was_training)


def _lower_stages(input_quant, stages: list[_Stage], calibration: np.ndarray,
                  lookup_bits: Optional[int]) -> IntegerMLP:
    x_int, input_scale = _act_ints(input_quant, torch.tensor(calibration))
    int_min, int_max = _act_range(input_quant)
    domain_min, domain_max = x_int.min(axis=0).astype(np.int64), x_int.max(axis=0).astype(np.int64)
    read = [_weights(stage.linear, stage.quant_input) for stage in stages]
    weights, kept = _drop_dead_neurons([w for w, _, _ in read])

    layers: list[IntegerLayer] = []
    exact = enumerable(domain_min, domain_max)
    values, in_scale = domain_inputs(domain_min, domain_max, weights[0]), input_scale
    range_min, range_max = domain_min.astype(np.int64), domain_max.astype(np.int64)
    for stage, layer_weights, (_, w_scale, bias), columns in zip(stages, weights, read, kept):
        w_scale, bias = w_scale[columns], bias[columns]
        acc = values @ layer_weights
        bound_min, bound_max = _bounds(layer_weights, range_min, range_max)
        # Exact ranges over an enumerated domain; else the bounds, which hold for any input of the box.
        acc_min, acc_max = (int(acc.min()), int(acc.max())) if exact else (bound_min, bound_max)
        round_bits = stage.round_bits
        if lookup_bits is not None and stage.activation is not None:
            round_bits = round_bits_for(acc_min, acc_max, lookup_bits, at_least=round_bits)
        layer = IntegerLayer(stage.name, layer_weights, None, acc_min, acc_max, bound_min, bound_max, round_bits)
        layers.append(layer)
        if stage.activation is None:
            return IntegerMLP(input_scale, int_min, int_max, domain_min, domain_max, layers, in_scale * w_scale, bias)
        # Tabulate every (rounded) accumulator value of the type Concrete will give it, wrapped
        # like an index: entry v % size holds the neuron's output for accumulator v. The type is
        # the accumulator's, or the rounded one's where rounding up needs a bit more.
        low = min(layer.acc_min, layer.lookup_range[0])
        bits = max(bits_for_range(layer.acc_min, layer.acc_max), bits_for_range(*layer.lookup_range))
        size = 1 << bits
        acc_values = np.arange(size, dtype=np.int64)
        if low < 0:
            acc_values = np.where(acc_values >= size // 2, acc_values - size, acc_values)
        pre = acc_values[None, :] * (in_scale * w_scale)[:, None] + bias[:, None]  # (n_out, size)
        pre_t = torch.from_numpy(pre.astype(np.float32))
        if stage.relu_before_quant:  # idempotent where a QuantReLU applies it again
            pre_t = torch.relu(pre_t)
        layer.tables, out_scale = _act_ints(stage.activation.module, pre_t)
        range_min, range_max = _act_range(stage.activation.module)
        if stage.relu_before_quant:
            range_min = max(range_min, 0)
        range_min = np.full(layer.n_out, range_min, dtype=np.int64)
        range_max = np.full(layer.n_out, range_max, dtype=np.int64)
        values = layer.lookup(acc)
        in_scale = out_scale
    raise UnsupportedModelError("the model must end with a QuantLinear")  # unreachable after _parse_chain


def _drop_dead_neurons(weights: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Remove hidden neurons that no later layer reads (all-zero outgoing weights): each would
    cost a lookup for nothing, and removing them is exact. Returns the weights and, per layer,
    the indices of the output neurons kept."""
    weights = [w.copy() for w in weights]
    kept = [np.arange(w.shape[1]) for w in weights]
    for index in range(len(weights) - 2, -1, -1):  # from the back, so removals cascade
        live = np.flatnonzero(np.any(weights[index + 1] != 0, axis=1))
        if len(live) == 0:
            live = np.array([0])  # keep one neuron: the layer's output is then a constant
        weights[index], kept[index] = weights[index][:, live], kept[index][live]
        weights[index + 1] = weights[index + 1][live, :]
    return weights, kept
