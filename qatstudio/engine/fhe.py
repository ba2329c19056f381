"""Compiling a IntegerMLP into a Concrete circuit, its keys, and running it."""
from __future__ import annotations

import hashlib
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .cancel import Cancelled
from .errors import UserError
from .integer import MAX_LOOKUP_BITS, IntegerMLP


def import_concrete():
    """``concrete.fhe``, without the deprecation warning its namespace package prints at import."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        from concrete import fhe
        from concrete.fhe.extensions.tag import tag_context

    # Concrete keeps its tag stack in a thread-local made at import, so tracing on any other
    # thread (a GUI worker) fails with "'_thread._local' object has no attribute 'stack'".
    if not hasattr(tag_context, "stack"):
        tag_context.stack = []
    return fhe


class FheError(UserError, RuntimeError):
    """Compilation or execution can't go on; the message says what to change."""


class LinkerMissingError(FheError):
    title = "FHE compilation needs the system linker"


class AccumulatorTooWideError(FheError):
    title = "The accumulator is too wide for FHE"

    def __init__(self, layer: str, bits: int):
        self.layer, self.bits = layer, bits
        super().__init__(
            f"layer '{layer}' needs a {bits}-bit accumulator, but Concrete can look up at most "
            f"{MAX_LOOKUP_BITS} bits: use a smaller pruning budget (fewer non-zero inputs per neuron) "
            f"or a lower bit-width"
        )


def check_linker() -> str:
    """Concrete links each circuit with the system linker ``ld``; say plainly when it's missing."""
    path = shutil.which("ld")
    if path is None:
        raise LinkerMissingError(
            "compiling to FHE needs the system linker 'ld', which is not installed: install the "
            "'binutils' package (for example: sudo apt-get install binutils) and try again"
        )
    return path


@dataclass
class LayerStats:
    name: str
    accumulator_bits: int  # measured over every input of the domain
    accumulator_min: int
    accumulator_max: int
    bound_bits: int  # worst case from weights and input ranges
    bound_min: int
    bound_max: int
    lookups: int  # programmable bootstraps (rounding's included), 0 for the output layer
    lookup_bits: int  # precision of the tables' lookups in the circuit
    round_bits: int = 0  # low accumulator bits rounded away before the lookups
    tables: int = 0  # the tables' lookups (one per neuron); 0 in files that didn't count them


@dataclass
class CircuitStats:
    accumulator_bits: int  # the widest integer anywhere in the circuit
    layers: list[LayerStats]
    pbs_count: int
    pbs_by_precision: dict[int, int]
    complexity: float
    secret_key_bytes: int
    bootstrap_key_bytes: int
    keyswitch_key_bytes: int
    global_p_error: float
    p_error: float
    compile_s: float
    domain_inputs: int  # integer inputs the circuit was measured on
    enumerated: bool = True  # all of the domain (exact ranges), else a sample with worst-case bounds

    @property
    def key_bytes(self) -> int:
        return self.secret_key_bytes + self.bootstrap_key_bytes + self.keyswitch_key_bytes

    @property
    def lookup_bits(self) -> int:
        """The widest lookup's precision (0 for a circuit without lookups)."""
        return max(self.pbs_by_precision, default=0)

    def to_dict(self) -> dict:
        values = asdict(self)
        values["pbs_by_precision"] = {str(k): v for k, v in self.pbs_by_precision.items()}
        return values

    @classmethod
    def from_dict(cls, values: dict) -> "CircuitStats":
        values = dict(values)
        values["layers"] = [LayerStats(**layer) for layer in values["layers"]]
        values["pbs_by_precision"] = {int(k): v for k, v in values["pbs_by_precision"].items()}
        return cls(**values)


@dataclass
class KeygenResult:
    seconds: float
    from_cache: bool
    path: Optional[Path]
    evaluation_key_bytes: int = 0  # what a client uploads to a server, once
    input_bytes: int = 0  # one encrypted input, as sent


@dataclass
class EncryptedRun:
    outputs: np.ndarray  # (k, n_classes) decrypted last-layer accumulators
    latencies_s: list[float] = field(default_factory=list)
    cancelled: bool = False


# Seeded compression: evaluation keys about 4x and input ciphertexts about 100x smaller to upload,
# run time unchanged (benchmarks/key_sizes.py).
COMPRESSION = dict(compress_evaluation_keys=True, compress_input_ciphertexts=True)


def _configuration(p_error: Optional[float], global_p_error: Optional[float], insecure_key_cache: Optional[Path]):
    fhe = import_concrete()
    options = dict(fhe_simulation=True, fhe_execution=True, show_optimizer=False, **COMPRESSION,
                   # Concrete 2.11 fails to compile approximate rounding before a layer's per-neuron
                   # tables when it narrows them ("could not broadcast (8,) into (64,)"): the tables
                   # stay at the accumulator's width, rounding still makes each lookup one PBS.
                   approximate_rounding_config=fhe.ApproximateRoundingConfig(
                       logical_clipping=False, reduce_precision_after_approximate_clipping=False))
    if p_error is not None:
        options["p_error"] = p_error
        options["global_p_error"] = None
    elif global_p_error is not None:
        options["global_p_error"] = global_p_error
    if insecure_key_cache is not None:  # tests only: reuses keys across processes
        options.update(enable_unsafe_features=True, use_insecure_key_cache=True,
                       insecure_key_cache_location=str(insecure_key_cache))
    return fhe.Configuration(**options)


class CompiledModel:
    """A IntegerMLP with its Concrete circuit: simulate, generate keys, run encrypted."""

    def __init__(self, model: IntegerMLP, circuit, stats: CircuitStats, options: Optional[dict] = None):
        self.model, self.circuit, self.stats = model, circuit, stats
        self.options = options or {}  # compile_model's keyword arguments, to compile it again

    def simulate(self, x_int: np.ndarray, should_stop: Optional[Callable[[], bool]] = None) -> np.ndarray:
        """Last-layer accumulators of every row of ``x_int``, computed by Concrete's FHE simulation."""
        outputs = []
        for row in np.asarray(x_int, dtype=np.int64):
            if should_stop is not None and should_stop():
                raise Cancelled()
            outputs.append(self.circuit.simulate(row))
        return np.array(outputs, dtype=np.int64).reshape(len(outputs), -1)

    def predict_simulated(self, x: np.ndarray, should_stop: Optional[Callable[[], bool]] = None) -> tuple[np.ndarray, int]:
        """Classes of float inputs ``x`` by FHE simulation, and how many circuit inputs that took:
        each distinct integer input is simulated once (a 100x100 grid at 3 bits is a handful)."""
        inputs, inverse = np.unique(self.model.quantize_inputs(x), axis=0, return_inverse=True)
        classes = self.model.dequantize_outputs(self.simulate(inputs, should_stop)).argmax(axis=1)
        return classes[np.ravel(inverse)], len(inputs)

    @property
    def key_id(self) -> str:
        """Identifies the keys this circuit needs: equal for circuits with the same key set."""
        specs = self.circuit.client.specs.serialize()
        return hashlib.sha256(b"qatstudio-keys-1" + specs).hexdigest()[:32]

    def keygen(self) -> KeygenResult:
        """Generate fresh keys for this circuit (timed); the services keep them in a cache."""
        start = time.perf_counter()
        self.use_keys(generate_keys(self.circuit.client.specs))
        return KeygenResult(time.perf_counter() - start, False, None, *self.upload_sizes())

    def use_keys(self, keys) -> None:
        """Run with these keys (``fhe.Keys``, generated for this circuit's client specs)."""
        self.circuit.keys = keys

    @property
    def keys(self):
        return self.circuit.keys

    def upload_sizes(self) -> tuple[int, int]:
        """Bytes of the evaluation keys and of one encrypted input, serialized (keys must exist)."""
        client = self.circuit.client
        sample = np.asarray(self.model.domain_min, dtype=np.int64)
        return len(client.evaluation_keys.serialize()), len(client.encrypt(sample).serialize())

    def run_encrypted(
        self,
        x_int: np.ndarray,
        should_stop: Optional[Callable[[], bool]] = None,
        on_sample: Optional[Callable[[int, int, float], None]] = None,
    ) -> EncryptedRun:
        """Encrypt, run and decrypt each row; stops between samples when asked.

        Keys must exist (``keygen``). ``on_sample(done, total, seconds)`` follows every sample.
        """
        rows = np.asarray(x_int, dtype=np.int64)
        run = EncryptedRun(np.zeros((0, self.model.output_scale.shape[0]), dtype=np.int64))
        outputs = []
        for index, row in enumerate(rows):
            if should_stop is not None and should_stop():
                run.cancelled = True
                break
            start = time.perf_counter()
            outputs.append(np.asarray(self.circuit.encrypt_run_decrypt(row), dtype=np.int64).reshape(-1))
            run.latencies_s.append(time.perf_counter() - start)
            if on_sample is not None:
                on_sample(index + 1, len(rows), run.latencies_s[-1])
        if outputs:
            run.outputs = np.stack(outputs)
        return run


def generate_keys(specs):
    """New keys for a circuit's client specs (``fhe.ClientSpecs``), from fresh random seeds:
    Concrete seeds secret keys with 0 unless told otherwise, so every user would share keys."""
    keys = import_concrete().Keys(specs)
    keys.generate(secret_seed=secrets.randbits(128), encryption_seed=secrets.randbits(128))
    return keys





def circuit_function(model: IntegerMLP, approximate_rounding: bool = False):
    """The function Concrete traces: one sample's integer inputs to the last accumulator.

    With ``approximate_rounding``, Concrete may round an accumulator to the neighbouring
    multiple (cheaper), so FHE may disagree with the clear model: measure the agreement.
    """
    fhe = import_concrete()
    exactness = fhe.Exactness.APPROXIMATE if approximate_rounding else fhe.Exactness.EXACT
    hidden = [
        (layer.name, layer.weights, layer.round_bits, np.array([layer.acc_min, layer.acc_max]),
         fhe.LookupTable([fhe.LookupTable(row) for row in layer.tables]))
        for layer in model.layers[:-1]
    ]
    last = model.layers[-1]
    # A domain too large to enumerate is measured on a sample: each accumulator is then declared
    # wide enough for its worst-case bounds, which the tables were built for.
    bounded = not model.enumerable

    def mlp(x):
        for name, weights, round_bits, acc_range, table in hidden:
            with fhe.tag(name):  # per-layer counts in the circuit stats
                acc = x @ weights
                if bounded:
                    acc = fhe.hint(acc, can_store=acc_range)
                if round_bits:
                    acc = fhe.round_bit_pattern(acc, lsbs_to_remove=round_bits, exactness=exactness)
                x = table[acc]
        out = x @ last.weights
        return fhe.hint(out, can_store=np.array([last.acc_min, last.acc_max])) if bounded else out

    return mlp


def compile_model(
    model: IntegerMLP,
    p_error: Optional[float] = None,
    global_p_error: Optional[float] = None,
    approximate_rounding: bool = False,
    insecure_key_cache: Optional[Path] = None,
) -> CompiledModel:
    """Compile ``model`` into a Concrete circuit measured on every input of its domain.

    ``p_error`` is the error probability of each lookup (else Concrete's default global one).
    ``insecure_key_cache`` is for tests only: it makes Concrete reuse keys across runs.
    """
    too_wide = model.too_wide()
    if too_wide is not None:
        raise AccumulatorTooWideError(*too_wide)
    check_linker()
    fhe = import_concrete()

    start = time.perf_counter()
    compiler = fhe.Compiler(circuit_function(model, approximate_rounding), {"x": "encrypted"})
    try:
        circuit = compiler.compile(
            list(model.domain_inputs()), _configuration(p_error, global_p_error, insecure_key_cache)
        )
    except RuntimeError as error:
        if "ld" in str(error) and shutil.which("ld") is None:
            raise LinkerMissingError(str(error)) from error
        raise FheError(f"Concrete could not compile the circuit: {error}") from error
    compile_s = time.perf_counter() - start
    _check_signs(model, circuit)
    options = dict(p_error=p_error, global_p_error=global_p_error, approximate_rounding=approximate_rounding)
    return CompiledModel(model, circuit, _circuit_stats(model, circuit, compile_s), options)


def compile_lookup_layer(precision: int, lookups: int, p_error: Optional[float]):
    """A circuit of one layer of ``lookups`` table lookups of ``precision`` bits each (a hidden
    layer's shape without its sums), compiled with the models' settings: what calibration times.
    No lookups: a circuit that only adds (its encryption, run and decryption)."""
    check_linker()
    fhe = import_concrete()
    if lookups == 0:
        compiler = fhe.Compiler(lambda x: x + 1, {"x": "encrypted"})
        return compiler.compile([np.array([value]) for value in (0, 3)], _configuration(p_error, None, None))
    table = fhe.LookupTable([(3 * value + 1) % 2**precision for value in range(2**precision)])
    compiler = fhe.Compiler(lambda x: table[x], {"x": "encrypted"})
    inputs = [np.full(lookups, value, dtype=np.int64) for value in (0, 2**precision - 1)]
    return compiler.compile(inputs, _configuration(p_error, None, None))


def _check_signs(model: IntegerMLP, circuit) -> None:
    """Every lookup whose accumulator can go negative reads a signed integer. Measured on a sample
    (many features), Concrete infers signs from the sample; a miss would give wrong lookups."""
    graph = circuit.graph
    signed = {}
    for node in graph.query_nodes():
        if node.converted_to_table_lookup:
            signed[node.tag] = signed.get(node.tag, False) or graph.ordered_preds_of(node)[0].output.dtype.is_signed
    for layer in model.layers[:-1]:
        if layer.lookup_range[0] < 0 and not signed.get(layer.name, True):
            raise FheError(f"layer {layer.name}'s accumulator can be negative but the circuit reads it unsigned: "
                           f"its inputs never reached the bound; report this with the experiment file")


def _lookup_precision(graph, node) -> int:
    """Bits a table lookup runs on: its index's, less the low bits a rounding before it removed."""
    index = graph.ordered_preds_of(node)[0]
    removed = index.properties.get("kwargs", {}).get("lsbs_to_remove", 0) if index.label() == "round_bit_pattern" else 0
    return index.output.dtype.bit_width - removed


def _circuit_stats(model: IntegerMLP, circuit, compile_s: float) -> CircuitStats:
    graph = circuit.graph
    lookup_bits: dict[str, int] = {}
    tables: dict[str, int] = {}
    pbs_by_precision: dict[int, int] = {}
    for node in graph.query_nodes():
        # A rounding is marked as a lookup too, but runs inside the lookup that follows it.
        if node.converted_to_table_lookup and node.label() != "round_bit_pattern":
            bits = _lookup_precision(graph, node)
            lookup_bits[node.tag] = max(lookup_bits.get(node.tag, 0), bits)
            count = int(np.prod(node.output.shape)) if node.output.shape else 1
            tables[node.tag] = tables.get(node.tag, 0) + count
            pbs_by_precision[bits] = pbs_by_precision.get(bits, 0) + count
    per_tag = circuit.programmable_bootstrap_count_per_tag
    layers = [
        LayerStats(
            name=layer.name,
            accumulator_bits=layer.accumulator_bits,
            accumulator_min=layer.acc_min,
            accumulator_max=layer.acc_max,
            bound_bits=layer.bound_bits,
            bound_min=layer.bound_min,
            bound_max=layer.bound_max,
            lookups=int(per_tag.get(layer.name, 0)),
            lookup_bits=int(lookup_bits.get(layer.name, 0)),
            round_bits=layer.round_bits,
            tables=tables.get(layer.name, 0),
        )
        for layer in model.layers
    ]
    return CircuitStats(
        accumulator_bits=int(graph.maximum_integer_bit_width()),
        layers=layers,
        pbs_count=int(circuit.programmable_bootstrap_count),
        pbs_by_precision=dict(sorted(pbs_by_precision.items())),
        complexity=float(circuit.complexity),
        secret_key_bytes=int(circuit.size_of_secret_keys),
        bootstrap_key_bytes=int(circuit.size_of_bootstrap_keys),
        keyswitch_key_bytes=int(circuit.size_of_keyswitch_keys),
        global_p_error=float(circuit.global_p_error),
        p_error=float(circuit.p_error),
        compile_s=compile_s,
        domain_inputs=len(model.domain_inputs()),
        enumerated=model.enumerable,
    )
