"""Load the guide's own QATPrunedSimpleNet from its text, so tests compile the class as printed.

The code blocks of ../shared/reference/qat-step-by-step-guide.md are run in order. The one
edit is the one the issue allows: fc3's ``weight_bit_width=n_hidden`` becomes ``n_bits``.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "qat-step-by-step-guide.md"
LAST_LAYER_FIX = ("weight_bit_width=n_hidden", "weight_bit_width=n_bits")


def guide_namespace() -> dict:
    if not GUIDE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"the guide is missing at {GUIDE}")
        pytest.skip(f"the guide is not beside this checkout ({GUIDE})")
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    source = "\n".join(blocks)
    assert source.count(LAST_LAYER_FIX[0]) == 1, "the guide's last layer changed: revisit this loader"
    namespace: dict = {"__name__": "guide"}
    exec(compile(source.replace(*LAST_LAYER_FIX), str(GUIDE), "exec"), namespace)
    return namespace
