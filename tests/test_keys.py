"""The user's key cache: private, reused, repaired, trimmed; generation in a child can be stopped."""
import os
import stat

import numpy as np
import pytest

from qatstudio.engine.cancel import Cancelled
from qatstudio.services.keys import KeyCache, trim_key_cache


def test_keys_are_cached_privately_and_reused(tiny_compiled, private_home):
    first = KeyCache().keys_for(tiny_compiled)
    assert not first.from_cache and first.path.exists()
    assert str(first.path).startswith(str(private_home))
    assert stat.S_IMODE(os.stat(first.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(first.path.parent).st_mode) == 0o700
    second = KeyCache().keys_for(tiny_compiled)
    assert second.from_cache and second.path == first.path
    x_int = tiny_compiled.model.quantize_inputs(np.array([[0.1, 0.9], [0.5, 0.5]], dtype=np.float32))
    assert np.array_equal(tiny_compiled.run_encrypted(x_int).outputs, tiny_compiled.model.forward_int(x_int))
    # a damaged cache entry is replaced, not fatal
    first.path.write_bytes(b"not keys")
    third = KeyCache().keys_for(tiny_compiled)
    assert not third.from_cache and third.path.stat().st_size > 1000


def test_key_generation_in_a_child_process_can_be_cancelled(tiny_compiled, tmp_path):
    with pytest.raises(Cancelled):
        KeyCache(tmp_path).keys_for_cancellable(tiny_compiled, lambda: True)
    assert not list(tmp_path.glob("*.keys"))
    result = KeyCache(tmp_path).keys_for_cancellable(tiny_compiled, lambda: False)
    assert not result.from_cache and result.path.exists()
    assert KeyCache(tmp_path).keys_for_cancellable(tiny_compiled, lambda: False).from_cache


def test_key_cache_is_trimmed_oldest_first(tmp_path):
    for age, name in enumerate(["new", "mid", "old"]):
        path = tmp_path / f"{name}.keys"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1e9 - age * 1000, 1e9 - age * 1000))
    trim_key_cache(tmp_path, budget=250)
    assert sorted(p.stem for p in tmp_path.glob("*.keys")) == ["mid", "new"]


def test_a_key_set_larger_than_the_budget_is_kept_and_reused(tiny_compiled, tmp_path):
    cache = KeyCache(tmp_path, budget=1)
    made = cache.keys_for(tiny_compiled)
    assert made.path.exists() and made.path.stat().st_size > 1
    assert cache.keys_for(tiny_compiled).from_cache
    older = tmp_path / "older.keys"
    older.write_bytes(b"x" * 100)
    os.utime(older, (1e9, 1e9))
    trim_key_cache(tmp_path, budget=1)  # the newest set stays even without being named
    assert [p.name for p in tmp_path.glob("*.keys")] == [made.path.name]
