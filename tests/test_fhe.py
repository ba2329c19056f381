
import os

import numpy as np
import pytest
from conftest import small_config

from qatstudio.engine.fhe import (
    AccumulatorTooWideError,
    LinkerMissingError,
    check_linker,
    compile_model,
)
from qatstudio.engine.pipeline import quantize
from qatstudio.engine.training import train


def test_report_describes_the_circuit(trained_qat):
    config, _, quantized = trained_qat
    report = compile_model(quantized).stats
    assert report.accumulator_bits == max(layer.accumulator_bits for layer in report.layers)
    # one PBS per hidden neuron that some later layer reads (dead ones are dropped), and exact
    # rounding one more per rounded bit
    assert [layer.lookups for layer in report.layers] == [
        layer.n_out * (layer.round_bits + 1) for layer in quantized.layers[:-1]] + [0]
    assert 0 < quantized.layers[1].n_out <= 30
    assert report.pbs_count == sum(layer.lookups for layer in report.layers)
    assert quantized.n_lookups == sum(report.pbs_by_precision.values())  # the tables; rounding's PBS apart
    for layer, lowered in zip(report.layers[:-1], quantized.layers[:-1]):
        assert layer.lookup_bits == lowered.lookup_bits <= config.lookup_bits  # as the integer model says
        assert layer.bound_bits >= layer.accumulator_bits
    assert report.bootstrap_key_bytes > 0 and report.keyswitch_key_bytes > 0 and report.complexity > 0
    assert 0 < report.global_p_error < 1 and report.compile_s > 0
    assert report.domain_inputs == len(quantized.domain_inputs())


def test_encrypt_run_decrypt_agrees_with_the_clear_model(small_dataset, tiny_compiled, key_cache):
    from qatstudio.engine.fhe import compile_model as compile_again

    compiled = compile_again(tiny_compiled.model, insecure_key_cache=key_cache)
    compiled.circuit.keygen()
    x_int = compiled.model.quantize_inputs(small_dataset.x_test[:3])
    seen = []
    run = compiled.run_encrypted(x_int, on_sample=lambda done, total, s: seen.append((done, total)))
    assert np.array_equal(run.outputs, compiled.model.forward_int(x_int))
    assert seen == [(1, 3), (2, 3), (3, 3)] and all(s > 0 for s in run.latencies_s)
    stopped = compiled.run_encrypted(x_int, should_stop=lambda: True)
    assert stopped.cancelled and stopped.outputs.shape == (0, 2)
    assert_a_closed_pipe_is_an_error()


def assert_a_closed_pipe_is_an_error():
    """Concrete's runtime, once started, would abort this process on a write to a closed pipe."""
    reader, writer = os.pipe()
    os.close(reader)
    with pytest.raises(BrokenPipeError):
        os.write(writer, b"x")
    os.close(writer)


def test_too_wide_accumulator_names_the_layer_and_what_to_change(small_dataset):
    config = small_config(bits=8, n_hidden=120, epochs=1)
    _, quantized = quantize(config, train(config, small_dataset).model, small_dataset)
    assert quantized.accumulator_bits > 16
    with pytest.raises(AccumulatorTooWideError) as caught:
        compile_model(quantized)
    message = str(caught.value)
    assert (caught.value.layer, caught.value.bits) == quantized.too_wide()
    assert f"'{caught.value.layer}'" in message and f"{caught.value.bits}-bit" in message
    assert "pruning budget" in message and "bit-width" in message


def test_missing_linker_is_said_plainly(monkeypatch, tmp_path):
    assert check_linker()
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LinkerMissingError, match="binutils"):
        check_linker()


def test_every_key_generation_draws_new_secret_keys(tiny_compiled):
    """Concrete seeds keys with 0 by default; users must never share keys for the same circuit."""
    tiny_compiled.keygen()
    first = tiny_compiled.circuit.keys.serialize()
    tiny_compiled.keygen()
    second = tiny_compiled.circuit.keys.serialize()
    assert len(first) == len(second) and first != second


def test_compiles_on_a_worker_thread(tiny_compiled):
    """Concrete's tag stack is thread-local: the GUI compiles on a worker thread."""
    import threading

    results = []
    thread = threading.Thread(target=lambda: results.append(compile_model(tiny_compiled.model).stats))
    thread.start()
    thread.join()
    assert results and results[0].pbs_count == tiny_compiled.stats.pbs_count


def test_values_outside_the_training_range_get_the_clear_answer_simulated_and_encrypted(small_dataset, tiny_compiled,
                                                                                       key_cache):
    """The model's inputs are [0, 1]; far outside it every stage clips to the circuit's input box alike."""
    import dataclasses

    from qatstudio.engine.evaluate import Metrics, evaluate_encrypted, evaluate_simulated
    from qatstudio.engine.fhe import compile_model as compile_again

    far = np.array([[-3.0, 0.5], [4.0, -2.0], [1e30, -1e30], [0.5, 7.5]], dtype=np.float32)
    model = tiny_compiled.model
    x_int = model.quantize_inputs(far)
    assert (x_int >= model.domain_min).all() and (x_int <= model.domain_max).all()
    compiled = compile_again(model, insecure_key_cache=key_cache)
    compiled.circuit.keygen()
    outside = dataclasses.replace(small_dataset, x_test=far, y_test=model.predict(far))
    metrics = evaluate_simulated(Metrics(), outside, compiled)
    assert_a_closed_pipe_is_an_error()
    evaluate_encrypted(metrics, outside, compiled, len(far))
    assert metrics.agreement_clear_simulated == metrics.agreement_clear_executed == 1.0
    assert np.array_equal(compiled.simulate(x_int), model.forward_int(x_int))
