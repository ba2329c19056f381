"""A whole-pipeline check without a window: train a tiny QAT model, compile, simulate, encrypt."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ..engine.config import DataConfig, ExperimentConfig, ModelKind
from ..engine.pipeline import run_experiment
from .keys import KeyCache


def selftest() -> tuple[bool, str]:
    """Returns (all worked, one line of figures)."""
    start = time.perf_counter()
    # A model trained for seconds: what is checked is that every stage agrees, not its accuracy.
    # Concrete's own error probability (1e-5 for the whole circuit), so that agreement is exact:
    # simulation draws lookup errors at the configured rate, and the recipe's per-lookup rate
    # let 1 of 100 test points differ in one run of this check.
    config = ExperimentConfig(kind=ModelKind.QAT, n_hidden=8, bits=3, pruning_budget=4, epochs=3, restarts=1,
                              p_error=None, data=DataConfig(n_points=1600, n_test=100))
    try:
        experiment = run_experiment(config, encrypted_samples=1)
        # The window makes keys in a child process (multiprocessing "spawn", which a frozen app
        # must support): make them once more that way, into a throwaway folder.
        with tempfile.TemporaryDirectory() as folder:
            child = KeyCache(Path(folder)).keys_for_cancellable(experiment.compiled, lambda: False)
    except Exception as error:  # the line says what failed; the exit status says it failed
        return False, f"selftest FAILED: {type(error).__name__}: {error}"
    m, stats = experiment.metrics, experiment.stats
    ok = (
        m.agreement_brevitas_clear == 1.0
        and m.agreement_clear_simulated == 1.0
        and m.fhe_executed_samples == 1
        and m.agreement_clear_executed == 1.0
    )
    line = (
        f"selftest {'OK' if ok else 'FAILED'}: {'every' if ok else 'not every'} stage agrees (a 3-epoch model: "
        f"its accuracy is not checked); accuracy brevitas {m.brevitas_accuracy:.3f}, "
        f"FHE simulated {m.fhe_simulated_accuracy:.3f} (agreement {m.agreement_clear_simulated:.3f}), "
        f"encrypted 1 sample agrees={m.agreement_clear_executed == 1.0}, accumulator {stats.accumulator_bits} bits, "
        f"{stats.pbs_count} PBS, keys {m.keygen_s:.1f} s (in a child process {child.seconds:.1f} s), "
        f"first sample {m.fhe_warmup_s:.2f} s (warm-up), "
        f"total {time.perf_counter() - start:.1f} s"
    )
    return ok, line
