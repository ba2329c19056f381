"""Build the guided story's experiment files in resources/story/ from the core, reproducibly.

    .venv/bin/python scripts/make_story.py [--texts-only] [--only NAME ...]

Each step is a seeded experiment (same files on every run, up to timings); story.json lists the
steps with their titles and what to say. Step 5 also runs a few test points encrypted.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qatstudio.engine.config import ExperimentConfig, ModelKind  # noqa: E402
from qatstudio.engine.pipeline import run_experiment  # noqa: E402
from qatstudio.services.experiment_file import (
    load_experiment,
    save_experiment,  # noqa: E402
)
from qatstudio.services.formatting import fmt_percent, fmt_seconds  # noqa: E402
from qatstudio.services.keys import KeyCache  # noqa: E402
from qatstudio.services.storage import atomic_write_json  # noqa: E402
from qatstudio.services.story import STORY_INDEX  # noqa: E402

STORY = ROOT / "resources" / "story"
DEPLOY_POINTS = {"5-fhe": 5}  # steps with a "Deploy it" button: test points sent through a local server

STEPS = [
    ("1-float-baseline", "Float baseline and its 3-bit quantization",
     "A float MLP with 30 neurons learns the guide's checkerboard; quantized to 3 bits after training, "
     "it collapses.",
     dict(kind=ModelKind.FLOAT, n_hidden=30)),
    ("2-more-neurons", "More neurons at 3 bits",
     "The same with 100 neurons: more float accuracy and a wider accumulator, and still a collapse at 3 bits.",
     dict(kind=ModelKind.FLOAT, n_hidden=100)),
    ("3-pruning", "Pruning",
     "100 neurons, each keeping only its 10 largest inputs: the 3-bit model holds up better than the dense one.",
     dict(kind=ModelKind.FLOAT, n_hidden=100, pruning_budget=10)),
    ("4-qat", "Quantization-aware training",
     "Trained at 3 bits from the start with Brevitas, 100 neurons pruned to 20 inputs each: it reaches the "
     "ceiling, the best any classifier can do on these test points.",
     dict(kind=ModelKind.QAT, n_hidden=100, pruning_budget=20)),
    ("5-fhe", "Compile to FHE and compare",
     "What the optimizer (Find the cheapest circuit) chose on this data: step 4's 100 neurons trained, then "
     "only 8 kept per layer, compiled with Concrete and run encrypted. Still at the ceiling, FHE gives the "
     "clear model's answers, and a sample takes a fraction of a second where Concrete ML's tutorial network "
     "(200 lookups at 8 bits) takes 58.6 s here. Deploy it: a local server then computes on ciphertexts it "
     "cannot read.",
     dict(kind=ModelKind.QAT, n_hidden=100, neurons_kept=8, pruning_budget=20)),
]


def measured(experiment) -> str:
    """What the step's files show, in words (figures are measured, never written by hand)."""
    m, report = experiment.metrics, experiment.stats
    parts = [f"ceiling {fmt_percent(m.ceiling_accuracy)}"]
    if m.float_accuracy is not None:
        parts.append(f"float {fmt_percent(m.float_accuracy)}")
    parts.append(f"3-bit {fmt_percent(m.clear_accuracy)}")
    parts.append(f"FHE simulated {fmt_percent(m.fhe_simulated_accuracy)}")
    if m.fhe_executed_samples:
        agree = round(m.agreement_clear_executed * m.fhe_executed_samples)
        parts.append(f"encrypted: {agree}/{m.fhe_executed_samples} points agree with the clear model "
                     f"({fmt_percent(m.fhe_executed_accuracy)} correct), {fmt_seconds(m.fhe_latency_s)} each")
    parts.append(f"accumulator {report.accumulator_bits} bits, {report.pbs_count} lookups")
    return "; ".join(parts) + "."


def main() -> int:
    args = sys.argv[1:]
    texts_only = "--texts-only" in args  # re-word story.json from the shipped files, no re-run
    only = set(args[args.index("--only") + 1:]) if "--only" in args else None  # re-run these steps alone
    STORY.mkdir(parents=True, exist_ok=True)
    index = []
    for name, title, text, values in STEPS:
        config = ExperimentConfig(**values)
        path = STORY / f"{name}.qats"
        if texts_only or (only is not None and name not in only):
            experiment = load_experiment(path)
        else:
            print(f"[story] {name} ...", file=sys.stderr, flush=True)
            experiment = run_experiment(config, encrypted_samples=5 if name.startswith("5") else 0,
                                        keygen=KeyCache().keys_for)
            save_experiment(path, experiment)
        entry = {"file": path.name, "title": title, "text": text, "measured": measured(experiment),
                 "config": experiment.config.to_dict()}
        if name in DEPLOY_POINTS:
            entry["deploy_points"] = DEPLOY_POINTS[name]
        index.append(entry)
    atomic_write_json(STORY / STORY_INDEX, {"steps": index}, mode=0o644)
    return 0


if __name__ == "__main__":
    sys.exit(main())
