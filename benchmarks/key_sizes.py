"""Evaluation-key and ciphertext sizes with and without Concrete's compression options, and what
they cost in time (key generation, encryption, server run), on one trained model.

    python benchmarks/key_sizes.py [--neurons 30] [--budget 10] [--bits 3] [--samples 5]

Timings on a shared machine are noisy: run it twice before trusting a difference.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from qatstudio.engine.config import ExperimentConfig, ModelKind
from qatstudio.engine.data import make_dataset
from qatstudio.engine.fhe import generate_keys, import_concrete
from qatstudio.engine.pipeline import quantize
from qatstudio.engine.training import train


def prepare(model, compress_keys: bool, compress_inputs: bool) -> dict:
    """Compile with these options and make keys; sizes and key generation time."""
    fhe = import_concrete()
    configuration = fhe.Configuration(show_optimizer=False, compress_evaluation_keys=compress_keys,
                                      compress_input_ciphertexts=compress_inputs)
    circuit = fhe.Compiler(model.circuit_function(), {"x": "encrypted"}).compile(
        list(model.domain_inputs()), configuration)
    start = time.perf_counter()
    circuit.keys = generate_keys(circuit.client.specs)
    keygen_s = time.perf_counter() - start
    evaluation = circuit.client.evaluation_keys
    sample = circuit.client.encrypt(np.asarray(model.domain_min, dtype=np.int64))
    return dict(circuit=circuit, evaluation=fhe.EvaluationKeys.deserialize(evaluation.serialize()),
                keys_mb=len(evaluation.serialize()) / 1e6, input_kb=len(sample.serialize()) / 1e3,
                keygen_s=keygen_s, encrypt_s=[], run_s=[], output_kb=0.0)


def run_once(model, setup: dict, row: np.ndarray) -> None:
    """Encrypt, serialize, run on the server side with the deserialized evaluation keys, check."""
    fhe = import_concrete()
    circuit = setup["circuit"]
    start = time.perf_counter()
    sent = circuit.client.encrypt(row).serialize()
    setup["encrypt_s"].append(time.perf_counter() - start)
    value = fhe.Value.deserialize(sent)
    start = time.perf_counter()
    result = circuit.server.run(value, evaluation_keys=setup["evaluation"])
    setup["run_s"].append(time.perf_counter() - start)
    setup["output_kb"] = len(result.serialize()) / 1e3
    assert np.array_equal(np.ravel(circuit.client.decrypt(result)), model.forward_int(row[None])[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--neurons", type=int, default=30)
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--bits", type=int, default=3)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    config = ExperimentConfig(kind=ModelKind.QAT, n_hidden=args.neurons, bits=args.bits, pruning_budget=args.budget,
                              epochs=3)
    dataset = make_dataset(config.data)
    _, model = quantize(config, train(config, dataset).model, dataset)
    x_int = model.quantize_inputs(dataset.x_test)
    print(f"{args.neurons} neurons, budget {args.budget}, {args.bits} bits, {args.samples} samples each "
          f"(medians; after one untimed warm-up run each)")
    print(f"{'keys':5s} {'inputs':7s} {'eval keys MB':>12s} {'input KB':>9s} {'output KB':>9s} "
          f"{'keygen s':>9s} {'encrypt ms':>10s} {'run s':>7s}")
    setups = {(keys, inputs): prepare(model, keys, inputs) for keys in (False, True) for inputs in (False, True)}
    for setup in setups.values():  # the first run of each key set decompresses and warms up: not timed
        run_once(model, setup, x_int[0])
        setup["encrypt_s"].clear()
        setup["run_s"].clear()
    for row in x_int[1: args.samples + 1]:  # round robin, so a change in the machine's load hits all four
        for setup in setups.values():
            run_once(model, setup, row)
    for (compress_keys, compress_inputs), row in setups.items():
        print(f"{'zip' if compress_keys else 'raw':5s} {'zip' if compress_inputs else 'raw':7s} "
              f"{row['keys_mb']:12.1f} {row['input_kb']:9.1f} {row['output_kb']:9.1f} {row['keygen_s']:9.2f} "
              f"{1e3 * statistics.median(row['encrypt_s']):10.2f} {statistics.median(row['run_s']):7.3f}")


if __name__ == "__main__":
    main()
