import os
import stat

import numpy as np
import pytest

from conftest import small_config
from qatstudio.core.experiment import quantize
from qatstudio.core.fhe import (
    AccumulatorTooWideError, Cancelled, LinkerMissingError, check_linker, compile_model, trim_key_cache,
)
from qatstudio.core.training import train


@pytest.fixture(scope="module")
def tiny_compiled(small_dataset):
    config = small_config(n_hidden=6, pruning_budget=3, epochs=2)
    model = train(config, small_dataset).model
    _, quantized = quantize(config, model, small_dataset)
    return compile_model(quantized)


def test_report_describes_the_circuit(trained_qat):
    config, _, quantized = trained_qat
    report = compile_model(quantized).report
    assert report.accumulator_bits == max(layer.accumulator_bits for layer in report.layers)
    # one PBS per hidden neuron that some later layer reads (dead ones are dropped)
    assert [layer.lookups for layer in report.layers] == [layer.n_out for layer in quantized.layers[:-1]] + [0]
    assert 0 < quantized.layers[1].n_out <= 30
    assert report.pbs_count == quantized.n_lookups == sum(report.pbs_by_precision.values())
    for layer in report.layers[:-1]:
        assert layer.lookup_bits >= layer.accumulator_bits
        assert layer.bound_bits >= layer.accumulator_bits
    assert report.bootstrap_key_bytes > 0 and report.keyswitch_key_bytes > 0 and report.complexity > 0
    assert 0 < report.global_p_error < 1 and report.compile_s > 0
    assert report.domain_inputs == len(quantized.domain_inputs())


def test_encrypt_run_decrypt_agrees_with_the_clear_model(small_dataset, tiny_compiled, key_cache):
    from qatstudio.core.fhe import compile_model as compile_again

    compiled = compile_again(tiny_compiled.model, insecure_key_cache=key_cache)
    compiled.circuit.keygen()
    x_int = compiled.model.quantize_inputs(small_dataset.x_test[:3])
    seen = []
    run = compiled.run_encrypted(x_int, on_sample=lambda done, total, s: seen.append((done, total)))
    assert np.array_equal(run.outputs, compiled.model.forward_int(x_int))
    assert seen == [(1, 3), (2, 3), (3, 3)] and all(s > 0 for s in run.latencies_s)
    stopped = compiled.run_encrypted(x_int, should_stop=lambda: True)
    assert stopped.cancelled and stopped.outputs.shape == (0, 2)


def test_keys_are_cached_privately_and_reused(tiny_compiled, private_home):
    first = tiny_compiled.keygen()
    assert not first.from_cache and first.path.exists()
    assert str(first.path).startswith(str(private_home))
    assert stat.S_IMODE(os.stat(first.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(first.path.parent).st_mode) == 0o700
    second = tiny_compiled.keygen()
    assert second.from_cache and second.path == first.path
    x_int = tiny_compiled.model.quantize_inputs(np.array([[0.1, 0.9], [0.5, 0.5]], dtype=np.float32))
    assert np.array_equal(tiny_compiled.run_encrypted(x_int).outputs, tiny_compiled.model.forward_int(x_int))
    # a damaged cache entry is replaced, not fatal
    first.path.write_bytes(b"not keys")
    third = tiny_compiled.keygen()
    assert not third.from_cache and third.path.stat().st_size > 1000


def test_key_generation_in_a_child_process_can_be_cancelled(tiny_compiled, tmp_path):
    with pytest.raises(Cancelled):
        tiny_compiled.keygen_cancellable(lambda: True, cache_dir=tmp_path)
    assert not list(tmp_path.glob("*.keys"))
    result = tiny_compiled.keygen_cancellable(lambda: False, cache_dir=tmp_path)
    assert not result.from_cache and result.path.exists()
    assert tiny_compiled.keygen_cancellable(lambda: False, cache_dir=tmp_path).from_cache


def test_key_cache_is_trimmed_oldest_first(tmp_path):
    for age, name in enumerate(["new", "mid", "old"]):
        path = tmp_path / f"{name}.keys"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1e9 - age * 1000, 1e9 - age * 1000))
    trim_key_cache(tmp_path, budget=250)
    assert sorted(p.stem for p in tmp_path.glob("*.keys")) == ["mid", "new"]


def test_too_wide_accumulator_names_the_layer_and_what_to_change(small_dataset):
    config = small_config(bits=8, n_hidden=120, epochs=1)
    _, quantized = quantize(config, train(config, small_dataset).model, small_dataset)
    assert quantized.accumulator_bits > 16
    with pytest.raises(AccumulatorTooWideError) as caught:
        compile_model(quantized)
    message = str(caught.value)
    assert "hidden.1" in message and f"{caught.value.bits}-bit" in message
    assert "pruning budget" in message and "bit-width" in message


def test_missing_linker_is_said_plainly(monkeypatch, tmp_path):
    assert check_linker()
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LinkerMissingError, match="binutils"):
        check_linker()


def test_every_key_generation_draws_new_secret_keys(tiny_compiled):
    """Concrete seeds keys with 0 by default; users must never share keys for the same circuit."""
    tiny_compiled.keygen(cache=False)
    first = tiny_compiled.circuit.keys.serialize()
    tiny_compiled.keygen(cache=False)
    second = tiny_compiled.circuit.keys.serialize()
    assert len(first) == len(second) and first != second


def test_compiles_on_a_worker_thread(tiny_compiled):
    """Concrete's tag stack is thread-local: the GUI compiles on a worker thread."""
    import threading

    results = []
    thread = threading.Thread(target=lambda: results.append(compile_model(tiny_compiled.model).report))
    thread.start()
    thread.join()
    assert results and results[0].pbs_count == tiny_compiled.report.pbs_count
