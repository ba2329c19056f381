"""Write the two example CSV files shipped in resources/examples/, from fixed seeds (the same bytes on
every run), so that the import path can be shown without a file at hand.

    .venv/bin/python scripts/make_examples.py [--check]

- plants.csv: 3 classes named in words (alpine, coastal, desert), 8 measured features in their own
  units (millimetres, percent, counts...), 3,000 rows; the classes overlap a little.
- machines.csv: 2 classes as numbers (fault 0 or 1), 4 features, 4,000 rows; a fault is a hot
  machine that vibrates, or one that draws too much current; ``batch_digit`` carries no information.

``--check`` writes nothing and fails when a shipped file differs from what this script makes.
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"

PLANT_FEATURES = ("leaf_length_mm", "leaf_width_mm", "stem_height_cm", "petal_count", "root_depth_cm",
                  "chlorophyll_index", "water_content_pct", "seed_mass_mg")
# Per class: the mean of each feature, then its spread (standard deviation).
PLANT_CLASSES = {
    "alpine": ((22.0, 9.0, 8.0, 5.0, 14.0, 41.0, 61.0, 1.1), (5.0, 2.0, 2.5, 1.0, 4.0, 6.0, 6.0, 0.3)),
    "coastal": ((48.0, 16.0, 35.0, 6.0, 30.0, 48.0, 74.0, 2.4), (9.0, 4.0, 9.0, 1.2, 7.0, 6.0, 5.0, 0.6)),
    "desert": ((30.0, 6.0, 18.0, 4.0, 55.0, 33.0, 38.0, 3.1), (7.0, 2.0, 6.0, 1.0, 12.0, 7.0, 8.0, 0.8)),
}
PLANT_ROWS = 3000


def plants(rng: np.random.Generator) -> str:
    names = list(PLANT_CLASSES)
    labels = rng.integers(0, len(names), PLANT_ROWS)
    means = np.array([PLANT_CLASSES[name][0] for name in names])[labels]
    spreads = np.array([PLANT_CLASSES[name][1] for name in names])[labels]
    size = rng.normal(0.0, 0.5, PLANT_ROWS)[:, None]  # bigger plants are bigger all over
    values = means + spreads * (rng.normal(0.0, 1.0, means.shape) + size * np.array([1, 1, 1, 0, 1, 0, 0, 1]))
    values = np.maximum(values, 0.0)
    values[:, 3] = np.maximum(np.rint(values[:, 3]), 3)  # petals: a whole number, at least 3
    out = io.StringIO()
    out.write(",".join(PLANT_FEATURES + ("species",)) + "\n")
    for row, label in zip(values, labels):
        cells = [f"{v:.1f}" for v in row]
        cells[3] = f"{row[3]:.0f}"
        cells[7] = f"{row[7]:.2f}"
        out.write(",".join(cells + [names[label]]) + "\n")
    return out.getvalue()


MACHINE_ROWS = 4000


def machines(rng: np.random.Generator) -> str:
    temperature = rng.normal(62.0, 9.0, MACHINE_ROWS)  # degrees Celsius
    vibration = rng.gamma(2.0, 1.6, MACHINE_ROWS)  # mm/s
    current = rng.normal(12.0, 1.5, MACHINE_ROWS)  # amperes
    batch_digit = rng.integers(0, 10, MACHINE_ROWS)  # the last digit of the batch number: no information
    strain = (temperature - 62.0) / 9.0 + (vibration - 3.2) / 2.3
    fault = (strain > 1.3) | (current > 14.6)
    flipped = rng.uniform(0.0, 1.0, MACHINE_ROWS) < 0.04  # mislabelled by the inspectors
    fault = (fault ^ flipped).astype(int)
    out = io.StringIO()
    out.write("temperature_c,vibration_mm_s,current_a,batch_digit,fault\n")
    for row in zip(temperature, vibration, current, batch_digit, fault):
        out.write(f"{row[0]:.1f},{row[1]:.2f},{row[2]:.2f},{row[3]},{row[4]}\n")
    return out.getvalue()


MAKERS = {"plants.csv": (plants, 11), "machines.csv": (machines, 12)}  # file: (maker, seed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped files; write nothing")
    args = parser.parse_args()
    stale = []
    for name, (make, seed) in MAKERS.items():
        text = make(np.random.default_rng(seed)).encode()
        path = EXAMPLES / name
        if args.check:
            if not path.is_file() or path.read_bytes() != text:
                stale.append(name)
            continue
        EXAMPLES.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text)
        print(f"wrote {path} ({len(text) / 1000:.0f} kB)")
    if stale:
        print(f"stale: {', '.join(stale)} (run scripts/make_examples.py)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
