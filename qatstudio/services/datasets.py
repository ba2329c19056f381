"""The data set of a configuration: generated shapes are made from the configuration alone; a
table's rows are kept in a ``TableStore`` from their import (or from the experiment file that stores
them) until a few newer tables push them out. Each owner has its own store: the window's session,
a command of the command line, a sweep's run on its worker."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Optional, Union

from ..engine.config import DataConfig
from ..engine.data import Dataset, Table, make_dataset
from ..engine.errors import UserError
from .tabular import ImportedTable

KEPT_TABLES = 4  # tables a store keeps in memory, the least recently used dropped first


class TableNotLoaded(UserError, ValueError):
    """A table's configuration whose rows the store doesn't hold; the message says how to get them."""

    title = "The table's rows are not loaded"


def _key(data: DataConfig) -> tuple[str, str]:
    return data.table_sha256, data.label_column


class TableStore:
    """Tables' rows by (file hash, label column), and each table's split and scaling, made once per
    configuration (training, saving at each stage, export and reports all ask for it). Thread-safe:
    jobs read and keep tables from worker threads."""

    def __init__(self) -> None:
        self._tables: OrderedDict[tuple[str, str], Table] = OrderedDict()
        self._datasets: OrderedDict[DataConfig, Dataset] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many tables the store holds."""
        with self._lock:
            return len(self._tables)

    def _forget_datasets(self, key: tuple[str, str]) -> None:
        """Drop the splits of the table ``key`` (it was replaced or pushed out). Call with the lock held."""
        for data in [data for data in self._datasets if _key(data) == key]:
            del self._datasets[data]

    def remember(self, table: Union[ImportedTable, Table], sha256: Optional[str] = None,
                 label_column: Optional[str] = None) -> Table:
        """Keep ``table``'s rows for the configurations that name them. An ImportedTable names its
        file's hash and label column itself; a bare Table needs both (one file gives other rows with
        another label)."""
        if isinstance(table, ImportedTable):
            sha256, label_column, table = sha256 or table.sha256, label_column or table.label_column, table.table
        if not sha256 or not label_column:
            raise ValueError("a table is kept under its file's sha256 and its label column: give both")
        with self._lock:
            key = (sha256, label_column)
            self._forget_datasets(key)
            self._tables[key] = table
            self._tables.move_to_end(key)
            while len(self._tables) > KEPT_TABLES:
                self._forget_datasets(self._tables.popitem(last=False)[0])
        return table

    def table_for(self, data: DataConfig) -> Table:
        """The rows of a table configuration (TableNotLoaded when the store doesn't hold them)."""
        key = _key(data)
        with self._lock:
            table = self._tables.get(key)
            if table is not None:
                self._tables.move_to_end(key)
        if table is None:
            raise TableNotLoaded(f"the rows of {data.table_name} are not loaded: open its experiment file, "
                                 f"or import {data.table_name} again")
        return table

    def dataset_for(self, data: DataConfig) -> Dataset:
        """The data set ``data`` describes: a generated shape, or a kept table split and scaled."""
        if not data.is_table:
            return make_dataset(data)  # cached by the engine
        table = self.table_for(data)  # held (TableNotLoaded otherwise), and now the most recently used
        with self._lock:
            dataset = self._datasets.get(data)
        if dataset is None:
            dataset = make_dataset(data, table)
            with self._lock:
                if _key(data) in self._tables:  # not pushed out meanwhile
                    self._datasets[data] = dataset
                    while len(self._datasets) > KEPT_TABLES:
                        self._datasets.popitem(last=False)
        return dataset
