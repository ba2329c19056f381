"""The heart: one lowering from Brevitas to integers, bit-exact against Brevitas and Concrete."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import small_config
from guide_model import guide_namespace
from torch import nn

from qatstudio.engine.config import ModelKind
from qatstudio.engine.fhe import compile_model
from qatstudio.engine.lowering import UnsupportedModelError, lower, trace_chain
from qatstudio.engine.models import BrevitasMLP
from qatstudio.engine.pipeline import quantize
from qatstudio.engine.training import predict, train


def assert_bit_exact(model, quantized, compiled, dataset):
    """Brevitas, the integer model in the clear and FHE simulation agree on all 500 test points."""
    brevitas = predict(model, dataset.x_test)
    clear = quantized.predict(dataset.x_test)
    x_int = quantized.quantize_inputs(dataset.x_test)
    simulated_acc = compiled.simulate(x_int)
    assert np.array_equal(simulated_acc, quantized.forward_int(x_int))  # integers, not just labels
    simulated = quantized.dequantize_outputs(simulated_acc).argmax(axis=1)
    assert len(dataset.x_test) == 500
    assert int((brevitas == clear).sum()) == 500
    assert int((clear == simulated).sum()) == 500


@pytest.mark.parametrize("bits, seed", [(2, 0), (3, 0), (3, 1), (4, 2), (6, 0)])
def test_qat_model_is_bit_exact_in_fhe_simulation(dataset, bits, seed):
    config = small_config(bits=bits, seed=seed, n_hidden=20, pruning_budget=8, epochs=2)
    model = train(config, dataset).model
    quant_model, quantized = quantize(config, model, dataset)
    assert quant_model is model
    compiled = compile_model(quantized)
    assert_bit_exact(model, quantized, compiled, dataset)
    # the clear model's inputs are exactly Brevitas' own input quantization
    brevitas_ints = model.quant_inp(torch.tensor(dataset.x_test)).int().numpy()
    assert np.array_equal(brevitas_ints, quantized.quantize_inputs(dataset.x_test))


@pytest.mark.parametrize("kind, budget", [(ModelKind.FLOAT, None), (ModelKind.FLOAT, 6)])
def test_post_training_quantization_goes_through_the_same_lowering(dataset, kind, budget):
    config = small_config(kind=kind, pruning_budget=budget, n_hidden=24, epochs=2)
    model = train(config, dataset).model
    quant_model, quantized = quantize(config, model, dataset)
    assert isinstance(quant_model, BrevitasMLP) and quant_model is not model
    # the quantized model keeps the float weights' pruning
    assert int((quant_model.hidden[1].quant_weight().int() != 0).sum(dim=1).max()) <= (budget or 24)
    compiled = compile_model(quantized)
    assert_bit_exact(quant_model, quantized, compiled, dataset)


def test_guide_model_compiles_unchanged_and_is_bit_exact(dataset):
    guide = guide_namespace()
    torch.manual_seed(0)
    model = guide["QATPrunedSimpleNet"](20)
    config = small_config(n_hidden=20, epochs=2, lr=0.003)
    model = train(config, dataset, model=model).model
    ops = [(op.kind, op.name) for op in trace_chain(model, torch.tensor(dataset.x_test[:3]))]
    assert ops == [("quant", "quant_inp"), ("linear", "fc1"), ("relu", "relu()"), ("quant", "q1"),
                   ("linear", "fc2"), ("relu", "relu()"), ("quant", "q2"), ("linear", "fc3")]
    quantized = lower(model, dataset.x_train)
    assert [layer.name for layer in quantized.layers] == ["fc1", "fc2", "fc3"]
    assert_bit_exact(model, quantized, compile_model(quantized), dataset)


class Variants(nn.Module):
    """The same chain written with every supported ReLU spelling and a nested container."""

    def __init__(self, relu_kind):
        super().__init__()
        import brevitas.nn as qnn
        from brevitas.quant import Int8ActPerTensorFloat, Int8WeightPerTensorFloat, Uint8ActPerTensorFloat

        self.relu_kind = relu_kind
        self.inp = qnn.QuantIdentity(act_quant=Int8ActPerTensorFloat, bit_width=4, return_quant_tensor=True)
        weight = dict(weight_quant=Int8WeightPerTensorFloat, weight_bit_width=4, bias_quant=None)
        self.block = nn.Sequential(qnn.QuantLinear(2, 12, bias=True, **weight))
        self.relu = nn.ReLU()
        self.qrelu = qnn.QuantReLU(act_quant=Uint8ActPerTensorFloat, bit_width=4, return_quant_tensor=True)
        self.q = qnn.QuantIdentity(act_quant=Int8ActPerTensorFloat, bit_width=4, return_quant_tensor=False)
        self.out = qnn.QuantLinear(12, 2, bias=True, **weight)

    def forward(self, x):
        x = self.block(self.inp(x))
        if self.relu_kind == "module":
            x = self.q(self.relu(x))
        elif self.relu_kind == "functional":
            x = self.q(F.relu(x))
        elif self.relu_kind == "method":
            x = self.q(x.relu())
        else:
            x = self.qrelu(x)
        return self.out(x)


@pytest.mark.parametrize("relu_kind", ["module", "functional", "method", "quant_relu"])
def test_every_relu_spelling_lowers_bit_exactly(dataset, relu_kind):
    model = Variants(relu_kind)
    model = train(small_config(epochs=1), dataset, model=model).model
    quantized = lower(model, dataset.x_train)
    assert len(quantized.layers) == 2
    assert np.array_equal(predict(model, dataset.x_test), quantized.predict(dataset.x_test))


class WithExtra(Variants):
    def __init__(self, extra):
        super().__init__("module")
        self.extra = extra

    def forward(self, x):
        x = self.block(self.inp(x))
        x = self.q(self.extra(self.relu(x)) if isinstance(self.extra, nn.Module) else self.extra(x))
        return self.out(x)


@pytest.mark.parametrize(
    "extra, named",
    [(nn.Tanh(), "'extra' (Tanh)"), (nn.BatchNorm1d(12), "'extra' (BatchNorm1d)"), (torch.sigmoid, "'sigmoid'")],
)
def test_unsupported_layers_are_named(dataset, extra, named):
    model = WithExtra(extra).eval()
    with pytest.raises(UnsupportedModelError) as caught:
        lower(model, dataset.x_train)
    assert named in str(caught.value)


def test_a_float_model_is_refused_with_a_reason(dataset):
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(UnsupportedModelError, match="Linear"):
        lower(model, dataset.x_train)


def test_bounds_hold_over_the_whole_input_domain(trained_qat):
    _, _, quantized = trained_qat
    domain = quantized.domain_inputs()
    assert len(domain) == np.prod(quantized.domain_max - quantized.domain_min + 1)
    for layer, acc in zip(quantized.layers, quantized.accumulators(domain)):
        assert acc.min() == layer.acc_min and acc.max() == layer.acc_max
        assert layer.bound_min <= layer.acc_min and layer.acc_max <= layer.bound_max


def test_input_step_keeps_the_checkerboard_cells(dataset):
    from qatstudio.engine.calibration import best_input_scale

    step = best_input_scale(dataset.x_train, dataset.y_train, levels=7, signed=False)
    assert step == pytest.approx(1 / 3, rel=1e-3)  # the guide's band width: each band one integer input
    from qatstudio.engine.config import DataConfig
    from qatstudio.engine.data import make_dataset

    board = make_dataset(DataConfig(bands=3, noise=0.0))  # the 3 x 3 board's cells are 1/2 wide
    assert best_input_scale(board.x_train, board.y_train, levels=7, signed=False) == pytest.approx(0.5, rel=1e-2)
