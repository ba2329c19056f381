"""The data set of a configuration: generated shapes are made from the configuration alone; a
table's rows are kept here, in this process, from their import (or from the experiment file that
stores them) until a few newer tables push them out."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Optional, Union

from ..engine.config import DataConfig
from ..engine.data import Dataset, Table, make_dataset
from .tabular import ImportedTable

KEPT_TABLES = 4  # tables kept in memory, the least recently used dropped first

_tables: OrderedDict[tuple[str, str], Table] = OrderedDict()  # by (file hash, label column)
_lock = threading.Lock()


class TableNotLoaded(ValueError):
    """A table's configuration whose rows this process doesn't hold; the message says how to get them."""


def remember(table: Union[ImportedTable, Table], sha256: Optional[str] = None,
             label_column: Optional[str] = None) -> Table:
    """Keep ``table``'s rows for the configurations that name them. An ImportedTable names its file's
    hash and label column itself; a bare Table needs both (one file gives other rows with another label)."""
    if isinstance(table, ImportedTable):
        sha256, label_column, table = sha256 or table.sha256, label_column or table.label_column, table.table
    if not sha256 or not label_column:
        raise ValueError("a table is kept under its file's sha256 and its label column: give both")
    with _lock:
        _tables[(sha256, label_column)] = table
        _tables.move_to_end((sha256, label_column))
        while len(_tables) > KEPT_TABLES:
            _tables.popitem(last=False)
    return table


def table_for(data: DataConfig) -> Table:
    """The rows of a table configuration (TableNotLoaded when this process doesn't hold them)."""
    key = (data.table_sha256, data.label_column)
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
    if data.is_table:
        return make_dataset(data, table_for(data))
    return make_dataset(data)
