"""The data set of a configuration: generated shapes are made from the configuration alone; a
table's rows are kept here, in this process, from their import (or from the experiment file that
stores them) until a few newer tables push them out."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Optional, Union

from ..engine.config import DataConfig
from ..engine.data import Dataset, Table, make_dataset
from ..engine.errors import UserError
from .tabular import ImportedTable

KEPT_TABLES = 4  # tables kept in memory, the least recently used dropped first

_tables: OrderedDict[tuple[str, str], Table] = OrderedDict()  # by (file hash, label column)
# A table's split and scaling, made once per configuration (training, saving at each stage, export
# and reports all ask for it), as generated shapes are in the engine.
_datasets: OrderedDict[DataConfig, Dataset] = OrderedDict()
_lock = threading.Lock()


def _key(data: DataConfig) -> tuple[str, str]:
    return data.table_sha256, data.label_column


def _forget_datasets(key: tuple[str, str]) -> None:
    """Drop the splits of the table ``key`` (it was replaced or pushed out). Call with the lock held."""
    for data in [data for data in _datasets if _key(data) == key]:
        del _datasets[data]


class TableNotLoaded(UserError, ValueError):
    """A table's configuration whose rows this process doesn't hold; the message says how to get them."""

    title = "The table's rows are not loaded"


def remember(table: Union[ImportedTable, Table], sha256: Optional[str] = None,
             label_column: Optional[str] = None) -> Table:
    """Keep ``table``'s rows for the configurations that name them. An ImportedTable names its file's
    hash and label column itself; a bare Table needs both (one file gives other rows with another label)."""
    if isinstance(table, ImportedTable):
        sha256, label_column, table = sha256 or table.sha256, label_column or table.label_column, table.table
    if not sha256 or not label_column:
        raise ValueError("a table is kept under its file's sha256 and its label column: give both")
    with _lock:
        key = (sha256, label_column)
        _forget_datasets(key)
        _tables[key] = table
        _tables.move_to_end(key)
        while len(_tables) > KEPT_TABLES:
            _forget_datasets(_tables.popitem(last=False)[0])
    return table


def table_for(data: DataConfig) -> Table:
    """The rows of a table configuration (TableNotLoaded when this process doesn't hold them)."""
    key = _key(data)
    with _lock:
        table = _tables.get(key)
        if table is not None:
            _tables.move_to_end(key)
    if table is None:
        raise TableNotLoaded(f"the rows of {data.table_name} are not loaded: open its experiment file, "
                             f"or import {data.table_name} again")
    return table


def dataset_for(data: DataConfig) -> Dataset:
    """The data set ``data`` describes: a generated shape, or a kept table split and scaled."""
    if not data.is_table:
        return make_dataset(data)  # cached by the engine
    table = table_for(data)  # held (TableNotLoaded otherwise), and now the most recently used
    with _lock:
        dataset = _datasets.get(data)
    if dataset is None:
        dataset = make_dataset(data, table)
        with _lock:
            if _key(data) in _tables:  # not pushed out meanwhile
                _datasets[data] = dataset
                while len(_datasets) > KEPT_TABLES:
                    _datasets.popitem(last=False)
    return dataset
