"""Post-training quantization: a trained float model's weights in a Brevitas model, its activation
scales calibrated on data, ready for the same lowering as a QAT model."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .lowering import UnsupportedModelError
from .models import BrevitasMLP, FloatMLP


def post_training_quantize(float_model: nn.Module, config, x_calib: np.ndarray, y_calib: np.ndarray):
    """A Brevitas BrevitasMLP for ``config`` with ``float_model``'s weights, its activation scales
    calibrated on data."""
    from brevitas.graph.calibrate import calibration_mode

    if not isinstance(float_model, FloatMLP):
        raise UnsupportedModelError(f"post-training quantization takes a FloatMLP, not {type(float_model).__name__}")
    quant = BrevitasMLP.for_config(config)
    quant.calibrate_input(x_calib, y_calib)
    with torch.no_grad():
        for source, target in zip(float_model.linear_layers(), quant.linear_layers()):
            target.weight.copy_(source.weight)
            target.bias.copy_(source.bias)
    quant.eval()
    with torch.no_grad(), calibration_mode(quant):
        for first in range(0, len(x_calib), 1000):
            quant(torch.tensor(x_calib[first : first + 1000], dtype=torch.float32))
    return quant.eval()
