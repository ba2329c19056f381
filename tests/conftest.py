import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from qatstudio.engine.config import DataConfig, ExperimentConfig, ModelKind  # noqa: E402
from qatstudio.engine.data import make_dataset  # noqa: E402


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory, monkeypatch):
    """Every test writes caches, history and settings under its own folder, never the user's."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("QATSTUDIO_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def dataset():
    """The guide's data set (100x100 grid, 500 test points)."""
    return make_dataset(DataConfig())


@pytest.fixture(scope="session")
def small_dataset():
    return make_dataset(DataConfig(n_points=1600, n_test=200))


@pytest.fixture(scope="session")
def key_cache(tmp_path_factory):
    """Concrete's insecure key cache: tests only, shared by the whole session."""
    return tmp_path_factory.mktemp("insecure-keys")


def small_config(**changes) -> ExperimentConfig:
    # Concrete's own error probability: these small circuits' FHE equals the clear model bit for bit
    values = dict(kind=ModelKind.QAT, n_hidden=16, n_layers=2, bits=3, pruning_budget=None, epochs=3, seed=0, restarts=1,
                  p_error=None)
    values.update(changes)
    return ExperimentConfig(**values)


@pytest.fixture(scope="session")
def trained_qat(dataset):
    """A 3-bit QAT net, 30 neurons pruned to 10, trained on the full data set (shared)."""
    from qatstudio.engine.pipeline import quantize
    from qatstudio.engine.training import train

    config = small_config(n_hidden=30, pruning_budget=10, epochs=4)
    result = train(config, dataset)
    _, integer_model = quantize(config, result.model, dataset)
    return config, result, integer_model


@pytest.fixture(scope="session")
def tiny_compiled(small_dataset):
    """A 6-neuron QAT net compiled (no keys yet; shared)."""
    from qatstudio.engine.fhe import compile_model
    from qatstudio.engine.pipeline import quantize
    from qatstudio.engine.training import train

    config = small_config(n_hidden=6, pruning_budget=3, epochs=2)
    _, integer_model = quantize(config, train(config, small_dataset).model, small_dataset)
    return compile_model(integer_model)
