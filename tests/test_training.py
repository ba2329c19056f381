import numpy as np
import pytest
from conftest import small_config

from qatstudio.engine.config import ModelKind
from qatstudio.engine.models import BrevitasMLP, FloatMLP, linear_layers
from qatstudio.engine.pruning import max_nonzero_per_neuron
from qatstudio.engine.training import Done, Epoch, Step, predict, train


def test_events_arrive_in_order_with_boundary(small_dataset):
    events = []
    result = train(small_config(kind=ModelKind.FLOAT, epochs=2), small_dataset, events.append)
    steps = [e for e in events if isinstance(e, Step)]
    epochs = [e for e in events if isinstance(e, Epoch)]
    assert isinstance(events[-1], Done) and not events[-1].cancelled
    assert [e.epoch for e in epochs] == [1, 2]
    assert steps[-1].step == steps[-1].total_steps == len(steps)
    assert steps[0].eta_s > 0 and steps[-1].eta_s == 0
    assert epochs[-1].boundary.shape == small_dataset.grid_shape
    assert 0.0 <= epochs[-1].boundary.min() and epochs[-1].boundary.max() <= 1.0
    assert result.history == epochs


@pytest.mark.parametrize("kind", [ModelKind.FLOAT, ModelKind.QAT])
def test_same_seed_same_training(small_dataset, kind):
    config = small_config(kind=kind, epochs=2)
    runs = []
    for _ in range(2):
        losses = []
        result = train(config, small_dataset, lambda e: losses.append(e.loss) if isinstance(e, Step) else None)
        runs.append((losses, predict(result.model, small_dataset.x_test)))
    assert runs[0][0] == runs[1][0]
    assert np.array_equal(runs[0][1], runs[1][1])
    other = train(config.replace(seed=1), small_dataset)
    assert not np.array_equal(predict(other.model, small_dataset.grid), predict(result.model, small_dataset.grid))


@pytest.mark.parametrize("kind, budget", [(ModelKind.FLOAT, 3), (ModelKind.QAT, 5)])
def test_cancel_stops_promptly_and_leaves_a_consistent_model(small_dataset, kind, budget):
    config = small_config(kind=kind, pruning_budget=budget, epochs=50)
    steps = []
    result = train(config, small_dataset, lambda e: steps.append(e) if isinstance(e, Step) else None,
                   should_stop=lambda: len(steps) >= 7)
    assert result.cancelled and len(steps) == 7
    assert not result.model.training
    assert max(max_nonzero_per_neuron(linear_layers(result.model))) <= budget
    assert predict(result.model, small_dataset.x_test).shape == (len(small_dataset.x_test),)


@pytest.mark.parametrize("kind, budget, n_hidden",
                         [(ModelKind.FLOAT, 4, 24), (ModelKind.QAT, 6, 24), (ModelKind.QAT, 1, 10)])
def test_every_neuron_keeps_at_most_the_budget_after_training(small_dataset, kind, budget, n_hidden):
    result = train(small_config(kind=kind, pruning_budget=budget, n_hidden=n_hidden, epochs=3), small_dataset)
    layers = linear_layers(result.model)
    for layer in layers:
        per_neuron = (layer.weight.detach() != 0).sum(dim=1)
        assert int(per_neuron.max()) <= budget, layer
    # the budget bites: the widest layers were pruned to exactly the budget, not emptied
    assert int((layers[1].weight.detach() != 0).sum(dim=1).min()) >= 1
    # a QAT model's integer weights honour it too
    if isinstance(result.model, BrevitasMLP):
        for layer in layers:
            assert int((layer.quant_weight().int() != 0).sum(dim=1).max()) <= budget


def test_unpruned_model_is_dense(small_dataset):
    result = train(small_config(kind=ModelKind.FLOAT, n_hidden=12, epochs=1), small_dataset)
    assert max_nonzero_per_neuron(linear_layers(result.model))[1] == 12


def test_model_kinds(small_dataset):
    assert isinstance(train(small_config(kind=ModelKind.FLOAT, epochs=1), small_dataset).model, FloatMLP)
    model = train(small_config(kind=ModelKind.QAT, bits=4, epochs=1), small_dataset).model
    assert isinstance(model, BrevitasMLP)
    for layer in linear_layers(model):  # every layer, the last one too, honours the bit-width
        assert int(layer.quant_weight().bit_width) == 4
        assert int(layer.quant_weight().int().abs().max()) <= 7


def test_hidden_layers_are_configurable(small_dataset):
    model = train(small_config(kind=ModelKind.QAT, n_layers=3, n_hidden=8, epochs=1), small_dataset).model
    assert len(linear_layers(model)) == 4


@pytest.mark.slow
def test_default_qat_recipe_reaches_the_ceiling(dataset):
    """3-bit QAT, 100 neurons pruned to 20, on the guide's data: within half a point of the best any
    classifier can reach on the test points (five seeds: `qatstudio reproduce`; time: benchmarks/)."""
    from qatstudio.engine.config import ExperimentConfig

    result = train(ExperimentConfig(kind=ModelKind.QAT, n_hidden=100, bits=3, pruning_budget=20), dataset)
    assert result.test_accuracy >= dataset.ceiling_accuracy - 0.005
