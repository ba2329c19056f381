"""The user's own data from a CSV file: read with pyarrow, checked, and turned into an ``engine.data.Table``.

The file's bytes are read once into memory that Arrow owns, hashed, checked to be UTF-8 text, and
those same bytes are parsed (a file rewritten during the import can't mix two versions). Every
column but the label is a numeric feature; the label holds numbers or words. What can't be used
raises ``TableError`` with a message that says what to change.
"""
from __future__ import annotations

import codecs
import hashlib
import math
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..engine.cancel import Cancelled
from ..engine.config import MAX_CLASSES, MAX_FEATURES, TABLE, DataConfig
from ..engine.data import Table
from ..engine.errors import UserError
from .formatting import fmt_bytes, plural

MAX_TABLE_BYTES = 500_000_000  # the largest data file imported (500 MB)
READ_CHUNK = 16 << 20  # bytes read, hashed and checked at a time
PARSE_BLOCK = 4 << 20  # bytes pyarrow parses at a time (progress and Stop are checked between blocks)
# Shares of the progress bar, as the time goes on a large file: reading, hashing and checking the
# bytes; parsing them; making the table (columns to arrays, classes).
READ_SHARE, PARSE_SHARE = 0.25, 0.5
HEADER_PEEK = 1 << 20  # bytes read to find the column names (and the first rows)
PEEK_ROWS = 8  # rows an import shows before it starts
LABEL_NAMES = ("label", "class", "target", "y")  # suggested label columns, in order of preference
EXAMPLES = 3  # missing cells named in a message
DELIMITERS = (",", ";", "\t")  # the header's most frequent one separates the columns
TRAINING_ADVICE = "features must be numbers; remove the column, or choose it as the label"
DECIMAL_COMMA = re.compile(r"[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?")  # 1,5 written for 1.5

Progress = Callable[[float], None]


class TableError(UserError, ValueError):
    """A data file can't be used; the message says what to change."""

    title = "Can't import the data"


class MissingValues(TableError):
    """Some cells are empty (or NA, NaN, null...): ``count`` cells in ``rows`` rows; ``where`` names
    a few as (line in the file, column), the header being line 1."""

    def __init__(self, message: str, count: int, rows: int, where: list[tuple[int, str]]):
        super().__init__(message)
        self.count, self.rows, self.where = count, rows, where


@dataclass(frozen=True)
class ImportedTable:
    """A data file read and checked: its rows, and what identifies the file as it was read."""

    table: Table
    name: str  # the file's name
    size_bytes: int
    sha256: str  # of the bytes read
    label_column: str
    rows_dropped: int = 0  # rows with missing values left out (``drop_missing``)

    def data_config(self, test_fraction: float = 0.2, seed: int = 0) -> DataConfig:
        return DataConfig(shape=TABLE, seed=seed, table_name=self.name, table_sha256=self.sha256,
                          table_bytes=self.size_bytes, label_column=self.label_column, test_fraction=test_fraction,
                          n_features=len(self.table.feature_names), n_classes=len(self.table.class_names))


# ---------------------------------------------------------------- the header

def peek_columns(path: Path) -> list[str]:
    """The column names in the file's first line (the rest is not read)."""
    return peek_table(path, rows=0).columns


@dataclass(frozen=True)
class Peek:
    """A file's column names and its first rows as written (text), before any import."""

    columns: list[str]
    rows: list[list[str]]
    problem: str = ""  # why the rows can't be shown, a sentence ('' when they can)


def peek_table(path: Path, rows: int = PEEK_ROWS) -> Peek:
    """The column names and the first ``rows`` rows, read from the file's first bytes only (what
    an import shows before the label column is chosen). TableError when the header can't be read."""
    path = Path(path)
    with _opened(path) as handle:
        head = handle.read(HEADER_PEEK)
    if not head.strip():
        raise _empty(path.name)
    whole = len(head) < HEADER_PEEK
    _check_text(path.name, head, 0, 0, final=whole)
    header = _first_line(head)
    columns = _header_names(path.name, header)
    lines = [line for line in head[len(header):].splitlines(keepends=True) if line.strip()]
    if not whole and lines and not lines[-1].endswith(b"\n"):
        lines.pop()  # cut by the peek
    lines = lines[:rows]
    if not lines:
        return Peek(columns, [])
    options = pacsv.ConvertOptions(column_types={name: pa.string() for name in columns}, strings_can_be_null=False)
    try:
        table = pacsv.read_csv(_arrow_buffer(header + b"".join(lines)), convert_options=options,
                               parse_options=pacsv.ParseOptions(delimiter=_delimiter(header)),
                               read_options=pacsv.ReadOptions(use_threads=False))
    except pa.ArrowInvalid as error:
        return Peek(columns, [], f"The first rows can't be shown: {error}")
    cells = [table.column(name).to_pylist() for name in columns]
    return Peek(columns, [list(row) for row in zip(*cells)])


def _empty(name: str) -> TableError:
    return TableError(f"{name} is empty: choose a CSV file with a header line and rows of values")


def suggest_label(columns: list[str]) -> str:
    """A column named label, class, target or y (any case), else the last one."""
    lowered = {name.strip().lower(): name for name in reversed(columns)}
    return next((lowered[name] for name in LABEL_NAMES if name in lowered), columns[-1])


def _delimiter(header: bytes) -> str:
    counts = [header.count(d.encode()) for d in DELIMITERS]
    return DELIMITERS[counts.index(max(counts))]


def _header_names(name: str, header: bytes) -> list[str]:
    try:
        table = pacsv.read_csv(_arrow_buffer(header), parse_options=pacsv.ParseOptions(delimiter=_delimiter(header)),
                               read_options=pacsv.ReadOptions(use_threads=False))
    except pa.ArrowInvalid as error:
        raise TableError(f"can't read the header line of {name}: {error}") from None
    names = table.column_names
    for index, column in enumerate(names, start=1):
        if not column.strip():
            raise TableError(f"column {index} of {name} has no name (a saved row index?): "
                             f"name it in the header line, or remove it")
    repeated = sorted({column for column in names if names.count(column) > 1})
    if repeated:
        raise TableError(f"{name} has more than one column named {', '.join(repr(c) for c in repeated)}: "
                         f"give each column its own name")
    return names


# ---------------------------------------------------------------- reading

def read_table(path: Path, label_column: str, drop_missing: bool = False, on_progress: Optional[Progress] = None,
               should_stop: Optional[Callable[[], bool]] = None) -> ImportedTable:
    """Read, check and convert ``path``; ``label_column`` names the classes, every other column is a
    feature. Rows with missing values raise ``MissingValues`` unless ``drop_missing``. Progress in
    [0, 1] goes to ``on_progress``; ``should_stop`` is polled between blocks (raises ``Cancelled``)."""
    path = Path(path)
    name = path.name
    tell = on_progress or (lambda fraction: None)
    stop = should_stop or (lambda: False)
    data, digest = _read_bytes(path, tell, stop)
    size = data.size
    header = _first_line(memoryview(data).cast("B")[:HEADER_PEEK].tobytes())
    names = _header_names(name, header)
    if label_column not in names:
        raise TableError(f"{name} has no column named '{label_column}': choose the label among "
                         f"{', '.join(names)}")
    features = [column for column in names if column != label_column]
    if not features:
        raise TableError(f"{name} has only the label column '{label_column}': "
                         f"it needs at least one numeric feature column")
    if len(features) > MAX_FEATURES:
        raise TableError(f"{name} has {len(features)} feature columns, more than the {MAX_FEATURES} a model "
                         f"takes: keep at most {MAX_FEATURES} columns besides the label")
    columns = _parse(name, data, _delimiter(header), features, label_column, tell, stop)
    table, dropped = _rows(name, columns, features, label_column, drop_missing)
    tell(1.0)
    return ImportedTable(table, name, size, digest, label_column, dropped)


@contextmanager
def _opened(path: Path) -> Iterator[BinaryIO]:
    """``open(path, "rb")`` with its failures in words."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise TableError(f"there is no file {path.name} in {path.parent}") from None
    except IsADirectoryError:
        raise TableError(f"{path} is a folder: choose a CSV file") from None
    except OSError as error:
        raise TableError(f"can't read {path.name}: {error.strerror or error}") from None
    with handle:
        yield handle


def _arrow_buffer(data: bytes) -> pa.Buffer:
    """``data`` copied into memory Arrow owns: pyarrow's reader threads may release it at any time,
    and releasing a buffer that Python owns needs the interpreter (at exit that aborts the process)."""
    buffer = pa.allocate_buffer(len(data))
    if data:
        memoryview(buffer).cast("B")[:] = data
    return buffer


def _read_bytes(path: Path, tell: Progress, stop: Callable[[], bool]) -> tuple[pa.Buffer, str]:
    """The whole file in an Arrow buffer, and its sha256; checked to be UTF-8 text."""
    name = path.name
    with _opened(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > MAX_TABLE_BYTES:
            raise TableError(f"{name} is {fmt_bytes(size)}, more than the {fmt_bytes(MAX_TABLE_BYTES)} QAT Studio "
                             f"imports: use a sample of its rows (a model of a few hidden neurons learns from far "
                             f"fewer), or fewer columns")
        if size == 0:
            raise _empty(name)
        buffer = pa.allocate_buffer(size)
        view = memoryview(buffer).cast("B")
        digest = hashlib.sha256()
        position, lines, pending, blank = 0, 0, b"", True
        while position < size:
            if stop():
                raise Cancelled()
            got = handle.readinto(view[position: position + READ_CHUNK])
            if not got:
                break
            block = view[position: position + got].tobytes()
            digest.update(block)
            pending = _check_text(name, pending + block, position - len(pending), lines, final=False)
            lines += block.count(b"\n")
            blank = blank and not block.strip()
            position += got
            tell(READ_SHARE * position / size)
        if position != size or handle.read(1):
            raise TableError(f"{name} changed while it was read: import it again once it is saved")
    _check_text(name, pending, size - len(pending), lines, final=True)
    if blank:
        raise _empty(name)
    return buffer, digest.hexdigest()


def _check_text(name: str, block: bytes, offset: int, lines_before: int, final: bool) -> bytes:
    """Raise TableError unless ``block`` (starting at byte ``offset``, after ``lines_before`` newlines)
    is UTF-8 text; returns the bytes of a character cut at its end, for the next block."""
    advice = "save it as UTF-8 CSV (in a spreadsheet: Save As, 'CSV UTF-8')"
    if offset == 0 and block[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise TableError(f"{name} is UTF-16 text, not UTF-8: {advice}")
    if b"\x00" in block:
        raise TableError(f"{name} is a binary file or UTF-16 text, not UTF-8 CSV: {advice}")
    try:
        _, used = codecs.utf_8_decode(block, "strict", final)
    except UnicodeDecodeError as error:
        line = lines_before + block.count(b"\n", 0, error.start) + 1
        raise TableError(f"{name} is not UTF-8 text (line {line} has a byte that isn't): {advice}") from None
    return block[used:]


def _first_line(head: bytes) -> bytes:
    """The header line of a file's first bytes (its newline kept)."""
    end = head.find(b"\n")
    return head if end < 0 else head[: end + 1]


def _parse(name: str, data: pa.Buffer, delimiter: str, features: list[str], label: str, tell: Progress,
           stop: Callable[[], bool]) -> pa.Table:
    """Parse the bytes block by block: features as float64, the label as text."""
    types = {column: pa.float64() for column in features}
    types[label] = pa.string()
    options = dict(read_options=pacsv.ReadOptions(block_size=PARSE_BLOCK),
                   parse_options=pacsv.ParseOptions(delimiter=delimiter),
                   convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True))
    batches = []
    try:
        reader = pacsv.open_csv(pa.BufferReader(data), **options)
        for batch in reader:
            if stop():
                raise Cancelled()
            batches.append(batch)  # one per block
            tell(READ_SHARE + PARSE_SHARE * min(1.0, len(batches) * PARSE_BLOCK / data.size))
        table = pa.Table.from_batches(batches, schema=reader.schema)
    except pa.ArrowInvalid as error:
        raise _parse_problem(name, data, delimiter, features, [label], error) from None
    if table.num_rows == 0:
        raise TableError(f"{name} has a header line but no rows: add rows of values below it")
    return table


def _parse_problem(name: str, data: pa.Buffer, delimiter: str, features: list[str], others: list[str],
                   error: pa.ArrowInvalid, read_options: Optional[pacsv.ReadOptions] = None, header_lines: int = 1,
                   advice: str = TRAINING_ADVICE) -> TableError:
    """Why the file doesn't parse, in words: a feature that isn't a number (which, where), or pyarrow's own
    reason. ``others`` are the columns read as text; ``read_options`` name the columns of a file without
    a header line (``header_lines`` 0)."""
    if "conversion error" in str(error):
        text = pacsv.read_csv(pa.BufferReader(data), read_options=read_options,
                              parse_options=pacsv.ParseOptions(delimiter=delimiter),
                              convert_options=pacsv.ConvertOptions(
                                  column_types={column: pa.string() for column in features + others},
                                  strings_can_be_null=True))
        for column in features:
            found = _first_non_number(text.column(column))
            if found is not None:
                row, value = found
                line = row + 1 + header_lines
                if DECIMAL_COMMA.fullmatch(value.strip()):
                    return TableError(f"column '{column}' of {name} uses decimal commas (line {line}: '{value}'): "
                                      f"save the file with decimal points ({value.strip().replace(',', '.')}), "
                                      f"for example from a spreadsheet set to English")
                return TableError(f"column '{column}' of {name} is not numeric (line {line}: '{value}'): {advice}")
    return TableError(f"can't read {name} as CSV: {error}; every row needs as many values as the header has "
                      f"columns, separated by '{delimiter}'")


def _first_non_number(column: pa.ChunkedArray) -> Optional[tuple[int, str]]:
    """(row, value) of the first value of ``column`` (text) that isn't a number; None if all are."""
    offset = 0
    for chunk in column.chunks:
        trimmed = pc.utf8_trim_whitespace(chunk)
        try:
            pc.cast(trimmed, pa.float64())
        except pa.ArrowInvalid:
            for index, value in enumerate(trimmed.to_pylist()):
                if value is None:
                    continue
                try:
                    pc.cast(pa.array([value]), pa.float64())
                except pa.ArrowInvalid:
                    return offset + index, chunk[index].as_py()
        offset += len(chunk)
    return None


def _rows(name: str, columns: pa.Table, features: list[str], label: str,
          drop_missing: bool) -> tuple[Table, int]:
    """Check the parsed columns and make the Table: (table, rows dropped)."""
    missing = np.zeros(columns.num_rows, dtype=bool)
    nulls = {}
    for column in features + [label]:
        if columns.column(column).null_count:
            nulls[column] = columns.column(column).is_null().to_numpy(zero_copy_only=False)
            missing |= nulls[column]
    dropped = int(missing.sum())
    if dropped and not drop_missing:
        cells = sum(int(mask.sum()) for mask in nulls.values())
        where = [(int(row) + 2, column) for row in np.flatnonzero(missing)[:EXAMPLES]
                 for column in nulls if nulls[column][row]][:EXAMPLES]
        shown = ", ".join(f"line {line} '{column}'" for line, column in where)
        raise MissingValues(f"{name} has {plural(cells, 'missing value')} in {plural(dropped, 'row')} (for "
                            f"example {shown}): fill them in, or drop those rows", cells, dropped, where)
    if dropped:
        columns = columns.filter(pa.array(~missing))
        if columns.num_rows == 0:
            raise TableError(f"every row of {name} has a missing value: no rows are left to learn from")
    values = np.column_stack([columns.column(column).to_numpy().astype(np.float64) for column in features])
    infinite = ~np.isfinite(values)
    if infinite.any():
        row, index = np.argwhere(infinite)[0]
        line = np.flatnonzero(~missing)[row] + 2
        raise TableError(f"column '{features[index]}' of {name} holds an infinite number on line {line} "
                         f"('{values[row, index]:g}'): features must be finite numbers")
    class_names, labels = _classes(name, columns.column(label), label)
    return Table(values, labels, tuple(features), class_names), dropped


def _classes(name: str, column: pa.ChunkedArray, label: str) -> tuple[tuple[str, ...], np.ndarray]:
    """The class names (numbers in numeric order, else words in alphabetical order) and each row's index."""
    distinct = pc.unique(column).to_pylist()
    if len(distinct) < 2:
        raise TableError(f"the label column '{label}' of {name} holds one class only ('{distinct[0]}'): "
                         f"a classifier needs rows of at least 2 classes")
    if len(distinct) > MAX_CLASSES:
        shown = ", ".join(sorted(distinct)[:5])
        raise TableError(f"the label column '{label}' of {name} holds {len(distinct)} classes ({shown}, ...), "
                         f"more than {MAX_CLASSES}: choose another label column, or merge classes")
    names = sorted(distinct, key=_class_order(distinct))
    labels = pc.index_in(column, value_set=pa.array(names, pa.string())).to_numpy().astype(np.int64)
    counts = np.bincount(labels, minlength=len(names))
    if counts.min() < 2:
        rare = names[int(counts.argmin())]
        raise TableError(f"class '{rare}' of {name} has a single row: each class needs at least 2 "
                         f"(some to train on, some to test)")
    return tuple(names), labels


def _class_order(names: list[str]):
    """Numbers by value when every name is one, else the names as text."""
    try:
        values = {text: float(text) for text in names}
    except ValueError:
        return lambda text: text
    if not all(math.isfinite(v) for v in values.values()):
        return lambda text: text
    return lambda text: (values[text], text)


# ---------------------------------------------------------------- points to classify

def read_points(path: Path, features: list[str], label_column: Optional[str] = None) -> np.ndarray:
    """Raw points to classify, (rows, features) float64, from a CSV file in the training file's format:
    a header line, the ``features`` matched by name in any order, the label column (``label_column``,
    else the one column left over) ignored. A file of numbers without a header line gives the features
    in order, one per column. Raises TableError saying what to change."""
    path = Path(path)
    name = path.name
    data, _ = _read_bytes(path, lambda fraction: None, lambda: False)
    header = _first_line(memoryview(data).cast("B")[:HEADER_PEEK].tobytes())
    delimiter = _delimiter(header)
    expected = f"the model takes {len(features)} feature{'s' if len(features) != 1 else ''} ({', '.join(features)})"
    first = _cells(header, delimiter)
    if all(pa.types.is_integer(kind) or pa.types.is_floating(kind) for kind in first.schema.types):
        # no header line: one column per feature, in order
        columns = first.num_columns
        if columns != len(features):
            raise TableError(f"{name} has {columns} value{'s' if columns != 1 else ''} per line but {expected}: "
                             f"give one value per feature, or a header line naming the columns")
        read_options, header_lines, others = pacsv.ReadOptions(column_names=features), 0, []
    else:
        names = _header_names(name, header)
        missing = [column for column in features if column not in names]
        if missing:
            raise TableError(f"{name} has no column {', '.join(repr(c) for c in missing)}: {expected}; name "
                             f"them in the header line as in the training file")
        others = [column for column in names if column not in features]
        unknown = [column for column in others if column != label_column]
        if len(unknown) > (0 if label_column else 1):
            label = f"its label column '{label_column}'" if label_column else "one label column"
            raise TableError(f"{name} has columns the model doesn't take ({', '.join(repr(c) for c in unknown)}): "
                             f"{expected}, and {label} may stay; remove the others")
        read_options, header_lines = pacsv.ReadOptions(), 1
    try:
        table = pacsv.read_csv(pa.BufferReader(data), read_options=read_options,
                               parse_options=pacsv.ParseOptions(delimiter=delimiter),
                               convert_options=pacsv.ConvertOptions(
                                   include_columns=features, column_types={c: pa.float64() for c in features}))
    except pa.ArrowInvalid as error:
        raise _parse_problem(name, data, delimiter, features, others, error, read_options, header_lines,
                             advice="give each feature of each point a number") from None
    if table.num_rows == 0:
        raise TableError(f"{name} has a header line but no points: add a line of values per point")
    values = np.column_stack([table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
                              for column in features])
    unusable = ~np.isfinite(values)  # missing (NaN) or infinite
    if unusable.any():
        row, index = np.argwhere(unusable)[0]
        raise TableError(f"column '{features[index]}' of {name} has no finite number on line "
                         f"{row + 1 + header_lines}: give every feature of every point a value")
    return values


def _cells(line: bytes, delimiter: str) -> pa.Table:
    """One line parsed on its own, its columns named by position and their types guessed."""
    return pacsv.read_csv(_arrow_buffer(line), parse_options=pacsv.ParseOptions(delimiter=delimiter),
                          read_options=pacsv.ReadOptions(autogenerate_column_names=True, use_threads=False))


# ---------------------------------------------------------------- after the import

def changed_on_disk(data: DataConfig, path: Path) -> Optional[str]:
    """None when ``path`` still holds the bytes ``data`` was imported from; else what changed, in words."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size == data.table_bytes:
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                while block := handle.read(READ_CHUNK):
                    digest.update(block)
            if digest.hexdigest() == data.table_sha256:
                return None
    except OSError:
        return (f"{path.name} is no longer there: the experiment keeps the rows read at import "
                f"({fmt_bytes(data.table_bytes)})")
    return (f"{path.name} has changed since it was imported ({fmt_bytes(data.table_bytes)} then, {fmt_bytes(size)} "
            f"now): the experiment keeps the rows read at import; import the file again to use the new version")
