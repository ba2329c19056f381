"""The user's own CSV files: read with pyarrow into a Table, every bad file refused in words (and
nothing kept), the rows kept per process for the configurations that name them."""
import hashlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from qatstudio.engine.cancel import Cancelled
from qatstudio.engine.config import MAX_CLASSES, MAX_FEATURES, DataConfig
from qatstudio.services import jobs, tabular
from qatstudio.services.datasets import KEPT_TABLES, TableNotLoaded, TableStore
from qatstudio.services.tabular import (
    MAX_TABLE_BYTES,
    MissingValues,
    TableError,
    changed_on_disk,
    peek_columns,
    read_points,
    read_table,
    suggest_label,
)
from qatstudio.services.tasks import TaskState

GOOD = b"width,height,weight,kind\n" + b"".join(
    f"{1 + i % 7},{2.5 * (i % 5)},{-3 + i * 0.25},{('cat', 'dog', 'bird')[i % 3]}\n".encode() for i in range(60))


def write(tmp_path, data: bytes, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.fixture
def tables():
    """The tables' rows a test keeps: a store of its own."""
    return TableStore()


def test_a_good_file_reads_into_a_table(tmp_path):
    path = write(tmp_path, GOOD)
    fractions = []
    imported = read_table(path, "kind", on_progress=fractions.append)
    table = imported.table
    assert table.features.shape == (60, 3) and table.features.dtype == np.float64
    assert table.feature_names == ("width", "height", "weight")
    assert table.class_names == ("bird", "cat", "dog")  # words in alphabetical order
    assert table.labels[:3].tolist() == [1, 2, 0] and table.labels.dtype == np.int64
    assert table.features[2].tolist() == [3.0, 5.0, -2.5]
    assert (imported.name, imported.size_bytes, imported.rows_dropped) == ("data.csv", len(GOOD), 0)
    assert imported.sha256 == hashlib.sha256(GOOD).hexdigest()
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and all(0 <= f <= 1 for f in fractions)
    data = imported.data_config(test_fraction=0.25, seed=3)
    assert (data.shape, data.table_name, data.table_sha256, data.table_bytes, data.label_column) == \
        ("table", "data.csv", imported.sha256, len(GOOD), "kind")
    assert (data.n_features, data.n_classes, data.test_fraction, data.seed) == (3, 3, 0.25, 3)
    assert not data.problems()


def test_numeric_labels_sort_by_value_and_a_bom_or_semicolons_just_work(tmp_path):
    rows = b"".join(f"{i};{i * 2};{(10, 2, -1)[i % 3]}\n".encode() for i in range(12))
    imported = read_table(write(tmp_path, b"\xef\xbb\xbfa;b;y\n" + rows), "y")
    assert imported.table.feature_names == ("a", "b") and imported.table.class_names == ("-1", "2", "10")
    assert imported.table.labels[:3].tolist() == [2, 1, 0]


def test_the_header_alone_names_the_columns_and_a_label_is_suggested(tmp_path):
    assert peek_columns(write(tmp_path, GOOD)) == ["width", "height", "weight", "kind"]
    assert suggest_label(["a", "Target", "b"]) == "Target" and suggest_label(["y", "class"]) == "class"
    assert suggest_label(["a", "b", "colour"]) == "colour"
    with pytest.raises(TableError, match="UTF-8"):
        peek_columns(write(tmp_path, "a,b\n1,2\n".encode("utf-16")))


@pytest.mark.parametrize("data, label, words", [
    (b"", "y", "is empty"),
    (b"  \n\n", "y", "is empty"),
    (b"a,b,y\n", "y", "a header line but no rows"),
    (b"a,b,y\n" + b"1,2,x\n" * 5, "y", "one class only"),
    (b"a,b\n" + b"".join(f"{i},{i % 11}\n".encode() for i in range(44)), "b", f"more than {MAX_CLASSES}"),
    (",".join([f"f{i}" for i in range(MAX_FEATURES + 1)] + ["y"]).encode() + b"\n", "y",
     f"{MAX_FEATURES + 1} feature columns, more than the {MAX_FEATURES}"),
    (GOOD, "label", "no column named 'label': choose the label among width, height, weight, kind"),
    (b"y\n1\n2\n", "y", "only the label column"),
    (b"a,a,y\n1,2,x\n", "y", "more than one column named 'a'"),
    (b",a,y\n0,1,x\n", "y", "column 1 of data.csv has no name"),
    (b"a,b,y\n1,2,x\n3,4,z,5\n", "y", "Expected 3 columns, got 4"),
    (b"a,b,y\n1,2,x\n3,4,x\n5,6,z\n", "y", "class 'z' of data.csv has a single row"),
    (b"a,b,y\n1,2,x\n3,inf,z\n5,6,x\n7,8,z\n", "y", "'b' of data.csv holds an infinite number on line 3"),
])
def test_bad_files_are_refused_in_words(tmp_path, data, label, words):
    with pytest.raises(TableError) as error:
        read_table(write(tmp_path, data), label)
    assert words in str(error.value)
    assert ":" in str(error.value)  # what is wrong: what to change


def test_a_non_numeric_feature_names_its_column_value_and_line(tmp_path):
    rows = b"".join(f"{i},{i * 2},x{i % 2}\n".encode() for i in range(200))
    data = b"a,b,y\n" + rows + b"7,seven,x1\n" + rows
    with pytest.raises(TableError, match=r"column 'b' of data.csv is not numeric \(line 202: 'seven'\)") as error:
        read_table(write(tmp_path, data), "y")
    assert "choose it as the label" in str(error.value)
    names = b"name,age,y\nann,31,x\nbob,45,z\n"
    with pytest.raises(TableError, match=r"column 'name' of data.csv is not numeric \(line 2: 'ann'\)"):
        read_table(write(tmp_path, names), "y")


def test_decimal_commas_are_named_as_such(tmp_path):
    semicolons = b"a;b;y\n1,5;2,25;x\n3;4,0;z\n"
    with pytest.raises(TableError, match=r"column 'a' of data.csv uses decimal commas \(line 2: '1,5'\): "
                                         r"save the file with decimal points \(1.5\)"):
        read_table(write(tmp_path, semicolons), "y")
    quoted = b'a,b,y\n2,"-0,75",x\n3,"4,5",z\n'
    with pytest.raises(TableError, match=r"column 'b' of data.csv uses decimal commas \(line 2: '-0,75'\)"):
        read_table(write(tmp_path, quoted), "y")
    words = b'a,b,y\n2,"one, two",x\n3,4,z\n'  # a comma in words is not a decimal comma
    with pytest.raises(TableError, match=r"column 'b' of data.csv is not numeric \(line 2: 'one, two'\)"):
        read_table(write(tmp_path, words), "y")


def test_points_to_classify_are_read_in_the_training_files_format(tmp_path):
    def read(text, label=None):
        return read_points(write(tmp_path, text.encode(), "points.csv"), ["x1", "x2"], label)

    assert read("y;x2;x1\n1;0.2;0.1\n0;4;3\n").tolist() == [[0.1, 0.2], [3, 4]]  # by name, label left in
    assert read("0.1,0.2\n3,4\n").tolist() == [[0.1, 0.2], [3, 4]]  # numbers only: the features in order
    assert read("x1,x2,fault\n1,2,0\n", label="fault").tolist() == [[1, 2]]
    refused = [("x1,x2,a,b\n1,2,3,4\n", None, r"columns the model doesn't take \('a', 'b'\)"),
               ("x1,x2,a\n1,2,3\n", "fault", r"\('a'\): .* its label column 'fault' may stay"),
               ("x2\n1\n", None, r"no column 'x1': the model takes 2 features \(x1, x2\)"),
               ("1,2,3\n", None, "has 3 values per line but the model takes 2 features"),
               ("x1,x2\n1,two\n", None, r"column 'x2' of points.csv is not numeric \(line 2: 'two'\): give each"),
               ("1,2\n3,NA\n", None, "column 'x2' of points.csv has no finite number on line 2"),
               ("x1,x2\n", None, "has a header line but no points")]
    for text, label, words in refused:
        with pytest.raises(TableError, match=words):
            read(text, label)


def test_missing_values_say_how_many_and_where_and_can_be_dropped(tmp_path):
    data = b"a,b,y\n1,2,x\n3,,z\n5,NA,\n7,8,z\n9,NaN,x\n2,3,x\n4,5,z\n"
    path = write(tmp_path, data)
    with pytest.raises(MissingValues) as error:
        read_table(path, "y")
    missing = error.value
    assert (missing.count, missing.rows) == (4, 3)
    assert missing.where == [(3, "b"), (4, "b"), (4, "y")]  # lines of the file, the header is line 1
    assert "4 missing values in 3 rows" in str(missing) and "drop those rows" in str(missing)
    imported = read_table(path, "y", drop_missing=True)
    assert imported.rows_dropped == 3 and imported.table.features[:, 0].tolist() == [1, 7, 2, 4]
    assert imported.table.class_names == ("x", "z")


def test_a_file_above_the_limit_is_refused_unread(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as handle:
        handle.truncate(MAX_TABLE_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(TableError, match=r"500.0 MB QAT Studio imports: use a sample of its rows"):
        read_table(path, "y")
    assert MAX_TABLE_BYTES == 500_000_000


@pytest.mark.parametrize("data, words", [
    ("a,b,y\n1,2,x\n".encode("utf-16"), "is UTF-16 text, not UTF-8: save it as UTF-8 CSV"),
    ("a,b,y\n1,2,x\n".encode("utf-16-le"), "binary file or UTF-16 text"),
    (np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes(), "save it as UTF-8 CSV"),
    # Latin-1 (or Windows-1252) words in a label: refused with the line, not guessed at
    (b"a,b,city\n1,2,Paris\n3,4,Z\xfcrich\n5,6,Paris\n7,8,Z\xfcrich\n",
     "(line 3 has a byte that isn't): save it as UTF-8"),
])
def test_wrong_encodings_ask_for_utf8(tmp_path, data, words):
    with pytest.raises(TableError) as error:
        read_table(write(tmp_path, data), "y")
    assert words in str(error.value)


def test_utf8_words_in_labels_are_class_names(tmp_path):
    data = "a,b,city\n1,2,Paris\n3,4,Zürich\n5,6,Paris\n7,8,Zürich\n".encode()
    assert read_table(write(tmp_path, data), "city").table.class_names == ("Paris", "Zürich")


def test_a_file_that_changes_after_import_keeps_what_was_read(tmp_path):
    path = write(tmp_path, GOOD)
    imported = read_table(path, "kind")
    data = imported.data_config()
    assert changed_on_disk(data, path) is None
    path.write_bytes(GOOD.replace(b"cat", b"cow"))  # same size, other bytes
    message = changed_on_disk(data, path)
    assert "has changed since it was imported" in message and "keeps the rows read at import" in message
    assert imported.table.class_names == ("bird", "cat", "dog")
    path.write_bytes(GOOD + b"1,2,3,cat\n")
    assert "import the file again" in changed_on_disk(data, path)
    path.unlink()
    assert "no longer there" in changed_on_disk(data, path)


def test_stop_cancels_the_import(tmp_path):
    with pytest.raises(Cancelled):
        read_table(write(tmp_path, GOOD), "kind", should_stop=lambda: True)


def test_kept_tables_make_their_data_sets_and_the_oldest_go_first(tmp_path, tables):
    imported = read_table(write(tmp_path, GOOD), "kind")
    data = imported.data_config()
    with pytest.raises(TableNotLoaded, match="open its experiment file, or import data.csv again"):
        tables.dataset_for(data)
    tables.remember(imported)
    dataset = tables.dataset_for(data)
    assert dataset.n_features == 3 and dataset.class_names == ("bird", "cat", "dog")
    assert len(dataset.y_test) == 12 and dataset.scaling is not None
    assert tables.dataset_for(DataConfig()).n_features == 2  # generated shapes need nothing kept
    # another label column of the same file is another table
    numbers = write(tmp_path, b"a,b,c\n" + b"".join(f"{i},{i % 3},{i % 2}\n".encode() for i in range(30)), "n.csv")
    by_b, by_c = read_table(numbers, "b"), read_table(numbers, "c")
    tables.remember(by_b)
    tables.remember(by_c)
    assert tables.table_for(by_b.data_config()).class_names == ("0", "1", "2")
    assert tables.table_for(by_c.data_config()).class_names == ("0", "1")
    assert tables.table_for(data) is imported.table
    other = by_b
    for index in range(KEPT_TABLES - 2):
        tables.remember(imported.table, f"{index:064x}", "kind")
    with pytest.raises(TableNotLoaded):
        tables.table_for(other.data_config())  # the least recently used
    assert tables.table_for(data) is imported.table


def test_a_table_is_split_once_per_configuration_until_its_rows_are_replaced_or_dropped(tmp_path, tables):
    imported = read_table(write(tmp_path, GOOD), "kind")
    tables.remember(imported)
    data = imported.data_config()
    dataset = tables.dataset_for(data)
    assert tables.dataset_for(data) is dataset  # saving, exporting and reporting reuse the split
    assert tables.dataset_for(imported.data_config(seed=1)) is not dataset
    tables.remember(imported)  # the same file imported again: split anew
    again = tables.dataset_for(data)
    assert again is not dataset and np.array_equal(again.x_test, dataset.x_test)
    for index in range(KEPT_TABLES):
        tables.remember(imported.table, f"{index:064x}", "kind")
    with pytest.raises(TableNotLoaded):
        tables.dataset_for(data)  # its rows were pushed out: its split goes with them


def test_the_import_job_reports_progress_and_keeps_the_table_only_when_it_reads(tmp_path, tables):
    messages = []
    imported = jobs.import_job(write(tmp_path, GOOD), "kind", tables)(TaskState(), messages.append)
    assert isinstance(messages[0], jobs.Phase) and "data.csv" in messages[0].text
    progress = [m for m in messages if isinstance(m, jobs.Progress)]
    assert progress[-1].done == progress[-1].total == 100
    assert tables.table_for(imported.data_config()) is imported.table
    tables = TableStore()
    with pytest.raises(MissingValues):
        jobs.import_job(write(tmp_path, b"a,y\n1,x\n,z\n", "bad.csv"), "y", tables)(TaskState(), messages.append)
    assert not len(tables)
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        jobs.import_job(tmp_path / "data.csv", "kind", tables)(state, messages.append)
    assert not len(tables)


def test_refused_files_never_abort_the_process_at_exit(tmp_path):
    """pyarrow's reader threads release the file's buffer; were it Python's, a release during the
    interpreter's exit would abort the process (exit status 134) now and then."""
    bad = [write(tmp_path, data, f"bad{i}.csv") for i, data in enumerate(
        [b"a,b,y\n1,2,x\n3,4,z,5\n", b"a,b,y\n1,2,x\n3,abc,z\n", b"a,b,y\n"])]
    script = textwrap.dedent(f"""
        from qatstudio.services.tabular import TableError, read_table
        for path in {[str(p) for p in bad]!r}:
            try:
                read_table(path, "y")
            except TableError:
                pass
    """)
    runs = [subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}) for _ in range(6)]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err.decode()[-500:]


def test_quoted_fields_keep_their_commas_and_quotes(tmp_path):
    """What a CSV parser does and a hand-written split on commas doesn't."""
    path = write(tmp_path, b'width,"height, cm",colour\n1,2,"red, dark"\n3,4,blue\n5,6,"red, dark"\n'
                           b'7,8,"say ""blue"""\n9,10,blue\n11,12,"say ""blue"""\n', "quoted.csv")
    table = tabular.read_table(path, "colour").table
    assert table.feature_names == ("width", "height, cm")
    assert set(table.class_names) == {"red, dark", "blue", 'say "blue"'}
    assert table.features.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]]


def test_the_shipped_examples_are_current_and_their_presets_import_them(tables):
    from qatstudio.engine.config import ExperimentConfig
    from qatstudio.services.presets import ExamplePreset, data_presets

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, os.path.join(root, "scripts", "make_examples.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    presets = data_presets()
    examples = [p for p in presets if isinstance(p, ExamplePreset)]
    assert [(p.file, p.label_column) for p in examples] == [("plants.csv", "species"), ("machines.csv", "fault")]
    assert all(p.path.stat().st_size < 300_000 for p in examples)
    config = ExperimentConfig(data=DataConfig(seed=5))
    plants = examples[0].apply(config, tables)
    assert (plants.data.n_features, plants.data.n_classes, plants.data.seed) == (8, 3, 5)
    assert tables.table_for(plants.data).class_names == ("alpine", "coastal", "desert") and not plants.problems()
    machines = examples[1].apply(plants, tables)
    assert tables.dataset_for(machines.data).feature_names[3] == "batch_digit" and machines.data.n_classes == 2
    moons = next(p for p in presets if p.title.startswith("Two moons")).apply(machines, tables)
    assert moons.data == DataConfig.for_shape("moons", seed=5)  # from a table back to a generated set
