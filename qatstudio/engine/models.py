"""The MLPs: a float one and its quantization-aware twin in Brevitas."""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from .calibration import best_input_scale
from .config import ExperimentConfig
from .integer import round_accumulator

# Steps during which Brevitas collects activation statistics before its scales become parameters.
STATS_STEPS = 30


class FloatMLP(nn.Module):
    """features -> n_hidden -> ... -> classes with ReLU."""

    def __init__(self, n_hidden: int, n_layers: int = 2, n_features: int = 2, n_classes: int = 2):
        super().__init__()
        widths = [n_features] + [n_hidden] * n_layers
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.out = nn.Linear(widths[-1], n_classes)

    @classmethod
    def for_config(cls, config: ExperimentConfig) -> "FloatMLP":
        return cls(config.n_hidden, config.n_layers, config.data.n_features, config.data.n_classes)

    def forward(self, x):
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.out(x)

    def linear_layers(self) -> list[nn.Linear]:
        return [*self.hidden, self.out]


class AccumulatorRounding(nn.Module):
    """Rounds a QuantLinear's integer accumulator to a multiple of 2**lsbs (half up), as Concrete's
    ``round_bit_pattern`` does before a cheaper lookup; the gradient passes straight through.

    The accumulator is recovered exactly from the float output (it is an integer times the scale,
    plus the bias) so that training sees the very values the circuit computes.
    """

    def __init__(self, lsbs: int):
        super().__init__()
        self.lsbs = lsbs

    def forward(self, y: torch.Tensor, quant_input, linear) -> torch.Tensor:
        if self.lsbs == 0:
            return y
        scale = (quant_input.scale * linear.quant_weight(quant_input=quant_input).scale).reshape(-1)
        bias = linear.bias if linear.bias is not None else torch.zeros_like(scale)
        acc = torch.round((y - bias) / scale)
        rounded = round_accumulator(acc, self.lsbs) * scale + bias
        return y + (rounded - y).detach()


class BrevitasMLP(nn.Module):
    """The same MLP in Brevitas: quantized input, n-bit weights everywhere, n-bit ReLU outputs.

    Weights are symmetric (narrow range, zero zero-point): per-tensor with the scale from their
    max, or, with ``accumulator_bits``, A2Q+ per-channel weights whose L1 norm guarantees that no
    accumulator needs more than that many bits. Activation scales are learned, initialised from
    statistics. ``round_bits`` rounds each hidden accumulator before its activation.
    """

    def __init__(self, n_hidden: int, n_layers: int = 2, bits: int = 3,
                 accumulator_bits: Optional[int] = None, round_bits: int = 0, n_features: int = 2, n_classes: int = 2):
        super().__init__()
        import brevitas.nn as qnn
        from brevitas.quant import (
            Int8AccumulatorAwareZeroCenterWeightQuant,
            Int8WeightPerTensorFloat,
            Uint8ActPerTensorFloat,
            Uint8ActPerTensorFloatMaxInit,
        )

        widths = [n_features] + [n_hidden] * n_layers
        self.bits = bits
        self.accumulator_bits = accumulator_bits
        self.round_bits = round_bits
        # Features live in [0, 1] (tables are scaled there in the clear): an unsigned input quantizer, its step set by calibrate_input.
        self.quant_inp = qnn.QuantIdentity(
            act_quant=Uint8ActPerTensorFloatMaxInit, bit_width=bits, max_val=1.0, return_quant_tensor=True
        )
        weight = dict(weight_quant=Int8WeightPerTensorFloat, weight_bit_width=bits, bias=True, bias_quant=None)
        if accumulator_bits is not None:
            weight.update(weight_quant=Int8AccumulatorAwareZeroCenterWeightQuant,
                          weight_accumulator_bit_width=accumulator_bits)
        self.hidden = nn.ModuleList(qnn.QuantLinear(a, b, **weight) for a, b in zip(widths, widths[1:]))
        self.acts = nn.ModuleList(
            qnn.QuantReLU(
                act_quant=Uint8ActPerTensorFloat,
                bit_width=bits,
                collect_stats_steps=STATS_STEPS,
                return_quant_tensor=True,
            )
            for _ in range(n_layers)
        )
        # Every hidden accumulator passes a rounder (0 bits: unchanged); lowering may round more to
        # bound the lookups, and sets the same here so that this model stays the circuit's twin.
        self.rounders = nn.ModuleList(AccumulatorRounding(round_bits) for _ in range(n_layers))
        self.out = qnn.QuantLinear(widths[-1], n_classes, **weight)

    @classmethod
    def for_config(cls, config: ExperimentConfig) -> "BrevitasMLP":
        return cls(config.n_hidden, config.n_layers, config.bits, config.accumulator_bits, config.round_bits,
                   config.data.n_features, config.data.n_classes)

    def calibrate_input(self, x, y, x_val=None, y_val=None) -> float:
        """Fix the input step to the one that keeps the most label information (then frozen)."""
        step = best_input_scale(x, y, 2**self.bits - 1, signed=False, x_eval=x_val, y_eval=y_val)
        self.set_input_step(step)
        return step

    def set_input_step(self, step: float, trainable: bool = False) -> None:
        """Set the input quantizer's step; frozen unless ``trainable`` (then Brevitas learns it)."""
        (name, threshold), = (
            (n, p) for n, p in self.quant_inp.named_parameters() if n.endswith("scaling_impl.value")
        )
        with torch.no_grad():
            ratio = float(self.quant_inp.act_quant.scale()) / float(threshold)
            threshold.fill_(step / ratio)
        threshold.requires_grad_(trainable)

    def forward(self, x):
        x = self.quant_inp(x)
        for index, (layer, act) in enumerate(zip(self.hidden, self.acts)):
            x = act(self.rounders[index](layer(x), x, layer))
        return self.out(x)

    def linear_layers(self) -> list[nn.Linear]:
        return [*self.hidden, self.out]

    def set_round_bits(self, round_bits: list[int]) -> None:
        """Round each hidden accumulator by these many low bits (as the lowered circuit does)."""
        for rounder, lsbs in zip(self.rounders, round_bits):
            rounder.lsbs = int(lsbs)


def build_model(config: ExperimentConfig, x_train=None, y_train=None, x_val=None, y_val=None,
                seed: Optional[int] = None) -> nn.Module:
    """A freshly initialised model for ``config``, seeded by ``seed`` (default ``config.seed``).

    A QAT model needs the training data to calibrate its input quantizer (the step is chosen by
    how well the training points' cells predict the validation points, when those are given).
    """
    config.validate()
    torch.manual_seed(config.seed if seed is None else seed)
    if config.is_quantization_aware:
        model = BrevitasMLP.for_config(config)
        if x_train is None:
            raise ValueError("a quantization-aware model needs training data to calibrate its input")
        model.calibrate_input(x_train, y_train, x_val, y_val)
        return model
    return FloatMLP.for_config(config)


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The model's linear layers in forward order (any nn.Linear, Brevitas' QuantLinear included): this
    project's MLPs know theirs; another torch model's (the guide's own) are read in declaration order."""
    if isinstance(model, (FloatMLP, BrevitasMLP)):
        return model.linear_layers()
    return [m for m in model.modules() if isinstance(m, nn.Linear)]
