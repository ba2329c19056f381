"""The user's key cache. Keys are large (100+ MB) and slow to make, so each circuit's keys are kept
in a folder only the user can read, named by the circuit's key id, the least recently used
dropped first once the folder passes its budget."""
from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Optional

from ..engine.cancel import Cancelled, StopCheck
from ..engine.fhe import CompiledModel, FheError, KeygenResult, compile_model, import_concrete
from ..engine.integer import IntegerMLP
from . import storage

# Keep the most recent keys up to this much. A key file holds the evaluation keys compressed (about 4x
# smaller than the circuit's key size: a 7-bit circuit's 930 MB made a 240 MB file), so an 8-bit
# circuit's 3.5 GB are about 0.9 GB here and a 9-bit one's 9.8 GB about 2.5 GB. The newest set is kept
# whatever its size.
KEY_CACHE_BYTES = 4_000_000_000
KEY_SUFFIX = ".keys"


def default_key_folder() -> Path:
    return storage.cache_dir() / "keys"


class KeyCache:
    """Keys for compiled circuits, loaded from the folder when there, else generated and kept."""

    def __init__(self, folder: Optional[Path] = None, budget: int = KEY_CACHE_BYTES):
        self.folder = Path(folder) if folder else default_key_folder()
        self.budget = budget

    def path_for(self, compiled: CompiledModel) -> Path:
        return storage.private_dir(self.folder) / f"{compiled.key_id}{KEY_SUFFIX}"

    def keys_for(self, compiled: CompiledModel) -> KeygenResult:
        """Give ``compiled`` its keys: from the cache, or fresh (then cached); timed."""
        start = time.perf_counter()
        path = self.path_for(compiled)
        if path.exists():
            try:
                compiled.use_keys(import_concrete().Keys.deserialize(path))
                path.touch()  # most recently used
                return KeygenResult(time.perf_counter() - start, True, path, *compiled.upload_sizes())
            except Exception:  # a damaged entry: make new keys below
                path.unlink(missing_ok=True)
        compiled.keygen()
        storage.atomic_write(path, lambda temp: (temp.unlink(), compiled.keys.serialize_to_file(temp)))
        trim_key_cache(self.folder, keep=path, budget=self.budget)
        return KeygenResult(time.perf_counter() - start, False, path, *compiled.upload_sizes())

    def keys_for_cancellable(self, compiled: CompiledModel, should_stop: StopCheck,
                             poll_s: float = 0.1) -> KeygenResult:
        """Like ``keys_for``, but Concrete's key generation (one long native call) runs in a child
        process that is killed if ``should_stop()`` turns true (raises Cancelled).

        The child compiles the same integer model, generates the keys into the cache, and this
        process loads them from there.
        """
        start = time.perf_counter()
        path = self.path_for(compiled)
        cached = path.exists()
        if not cached:
            context = multiprocessing.get_context("spawn")
            layer_names = [layer.name for layer in compiled.model.layers]
            child = context.Process(
                target=_keygen_child,
                args=(compiled.model.to_arrays(), layer_names, compiled.options, str(self.folder), compiled.key_id),
                daemon=True,
            )
            child.start()
            while child.is_alive():
                if should_stop():
                    child.terminate()
                    child.join()
                    raise Cancelled()
                child.join(poll_s)
            if child.exitcode != 0 or not path.exists():
                raise FheError(f"key generation failed in its worker process (exit code {child.exitcode})")
        loaded = self.keys_for(compiled)
        return KeygenResult(time.perf_counter() - start, cached, path, loaded.evaluation_key_bytes, loaded.input_bytes)


def trim_key_cache(folder: Path, keep: Optional[Path] = None, budget: int = KEY_CACHE_BYTES) -> None:
    """Delete the least recently used key files until the folder fits ``budget`` bytes. The newest
    file and ``keep`` stay even when they alone pass the budget: keys just made are about to be used."""
    files = sorted(Path(folder).glob(f"*{KEY_SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
    total = 0
    for index, path in enumerate(files):
        total += path.stat().st_size
        if total > budget and index > 0 and path != keep:
            path.unlink(missing_ok=True)


def _keygen_child(arrays: dict, layer_names: list[str], options: dict, folder: str, expected_key_id: str) -> None:
    """Child process of keys_for_cancellable: compile the same model, generate and cache its keys."""
    compiled = compile_model(IntegerMLP.from_arrays(arrays, layer_names), **options)
    if compiled.key_id != expected_key_id:
        raise FheError("the circuit compiled differently in the key generation process")
    KeyCache(Path(folder)).keys_for(compiled)
