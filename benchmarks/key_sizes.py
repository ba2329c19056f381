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

from qatstudio.core.config import ExperimentConfig
from qatstudio.core.data import make_dataset
from qatstudio.core.experiment import quantize
from qatstudio.core.fhe import generate_keys, import_concrete
from qatstudio.core.training import train


def measure(model, compress_keys: bool, compress_inputs: bool, samples: int, x_int: np.ndarray) -> dict:
    fhe = import_concrete()
    configuration = fhe.Configuration(show_optimizer=False, compress_evaluation_keys=compress_keys,
                                      compress_input_ciphertexts=compress_inputs)
    circuit = fhe.Compiler(model.circuit_function(), {"x": "encrypted"}).compile(
        list(model.domain_inputs()), configuration)
    start = time.perf_counter()
    keys = generate_keys(circuit.client.specs)
    keygen_s = time.perf_counter() - start
    circuit.keys = keys
    evaluation = circuit.client.evaluation_keys
    encrypt_s, run_s, input_bytes, output_bytes = [], [], [], []
    for row in x_int[:samples]:
        start = time.perf_counter()
        value = circuit.client.encrypt(row)
        encrypt_s.append(time.perf_counter() - start)
        sent = value.serialize()
        start = time.perf_counter()
        result = circuit.server.run(fhe.Value.deserialize(sent), evaluation_keys=evaluation)
        run_s.append(time.perf_counter() - start)
        received = result.serialize()
        assert np.array_equal(np.ravel(circuit.client.decrypt(result)), model.forward_int(row[None])[0])
        input_bytes.append(len(sent))
        output_bytes.append(len(received))
    return dict(keys_mb=len(evaluation.serialize()) / 1e6, input_kb=input_bytes[0] / 1e3,
                output_kb=output_bytes[0] / 1e3, keygen_s=keygen_s,
                encrypt_ms=1e3 * statistics.median(encrypt_s), run_s=statistics.median(run_s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--neurons", type=int, default=30)
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--bits", type=int, default=3)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    config = ExperimentConfig(kind="qat", n_hidden=args.neurons, bits=args.bits, pruning_budget=args.budget, epochs=3)
    dataset = make_dataset(config.data)
    _, model = quantize(config, train(config, dataset).model, dataset)
    x_int = model.quantize_inputs(dataset.x_test)
    print(f"{args.neurons} neurons, budget {args.budget}, {args.bits} bits, {args.samples} samples each")
    print(f"{'keys':5s} {'inputs':7s} {'eval keys MB':>12s} {'input KB':>9s} {'output KB':>9s} "
          f"{'keygen s':>9s} {'encrypt ms':>10s} {'run s':>7s}")
    for compress_keys in (False, True):
        for compress_inputs in (False, True):
            row = measure(model, compress_keys, compress_inputs, args.samples, x_int)
            print(f"{'zip' if compress_keys else 'raw':5s} {'zip' if compress_inputs else 'raw':7s} "
                  f"{row['keys_mb']:12.1f} {row['input_kb']:9.1f} {row['output_kb']:9.1f} {row['keygen_s']:9.2f} "
                  f"{row['encrypt_ms']:10.2f} {row['run_s']:7.3f}", flush=True)


if __name__ == "__main__":
    main()
