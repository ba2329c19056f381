"""The HTML report of a sweep: the app's colours and kind names, a legend, the Pareto front, the
ceiling when runs carry it, boundaries with axes and test points, and print rules for A4."""
import dataclasses
import html
import json
import re

import pytest
from conftest import small_config

from qatstudio.engine.config import DataConfig, ModelKind
from qatstudio.engine.pipeline import run_experiment
from qatstudio.services.formatting import (CLASS_COLORS, FRONT_COLOR, LEGEND_LOOKS, METRICS_BY_KEY, config_look, config_name,
                                          fmt_percent)
from qatstudio.services.history import RunRecord
from qatstudio.services.report import write_html_report, write_json_report

CEILING_HEADER = f"<th>{METRICS_BY_KEY['ceiling'].label}</th>"

SMALL_DATA = DataConfig(n_points=1600, n_test=200)


@pytest.fixture(scope="module")
def records(small_dataset):
    """One real run of each kind, trained, compiled and simulated on the small data set."""
    configs = [small_config(kind=ModelKind.FLOAT, n_hidden=8, epochs=1, data=SMALL_DATA),
               small_config(kind=ModelKind.FLOAT, n_hidden=8, pruning_budget=4, epochs=1, data=SMALL_DATA),
               small_config(kind=ModelKind.QAT, n_hidden=8, pruning_budget=4, epochs=2, data=SMALL_DATA)]
    return [RunRecord.from_experiment(run_experiment(config, small_dataset)) for config in configs]


def copy(record, ceiling):
    again = RunRecord.from_json(record.to_json())
    again.metrics = dataclasses.replace(again.metrics, ceiling_accuracy=ceiling)
    return again


def chart_of(text):
    return re.search(r'<svg[^>]*aria-label="accuracy against accumulator bits".*?</svg>', text, re.S).group(0)


def test_report_has_the_apps_colours_a_legend_the_front_and_boundaries_with_points(records, tmp_path):
    timed = copy(records[2], records[2].metrics.ceiling_accuracy)
    timed.metrics = dataclasses.replace(timed.metrics, fhe_latency_s=3.2, fhe_warmup_s=5.1)
    text = write_html_report(tmp_path / "timed.html", records[:2] + [timed]).read_text()
    # latency is the steady state, its one-time warm-up in a column of its own
    assert "<th>Latency per sample</th><th>First sample (warm-up)</th>" in text.replace("\n", "")
    text = write_html_report(tmp_path / "report.html", records).read_text()
    chart = chart_of(text)
    assert [config_look(r.config) for r in records] == list(LEGEND_LOOKS)  # float, pruned float, QAT
    for look in LEGEND_LOOKS:
        assert f'fill="{look.color}"' in chart  # the points and the legend in the app's colours
        assert f">{look.name}<" in chart  # the legend names each kind
    assert '<polyline points="' in chart and f'stroke="{FRONT_COLOR}"' in chart and "Pareto front" in chart
    # the y-axis labels keep clear of the left edge and of the rotated axis title (at x=18)
    for x, size, label in re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="end" font-size="(\d+)"'
                                     r'[^>]*>(\d+%)</text>', chart):
        assert float(x) - 0.65 * int(size) * len(label) > 26, label
    # one boundary per run, with its axes and every test point in the class colours
    assert text.count('aria-label="decision boundary"') == 3
    assert text.count('href="data:image/png;base64,') == 3
    points = re.findall(r'<circle [^>]*r="2.6" fill="(#[0-9a-f]+)"', text)
    assert len(points) == 3 * SMALL_DATA.n_test and set(points) == set(CLASS_COLORS[:2])
    assert text.count("x\u2081</text>") == 3 and text.count("x\u2082</text>") == 3
    # every run carries its data set's ceiling: one data set, one line on the chart
    ceiling = fmt_percent(records[0].metrics.ceiling_accuracy)
    assert CEILING_HEADER in text and f"ceiling {ceiling}" in chart
    # files from before the ceiling existed: no column, no line
    text = write_html_report(tmp_path / "old.html", [copy(record, None) for record in records]).read_text()
    assert CEILING_HEADER not in text and "ceiling" not in chart_of(text)
    # self-contained, and laid out for A4 paper
    assert "http" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "@page { size: A4" in text and "@media print" in text


def test_report_shows_the_ceiling_when_runs_carry_it(records, tmp_path):
    with_ceiling = [copy(record, 0.9875) for record in records]
    text = write_html_report(tmp_path / "report.html", with_ceiling).read_text()
    assert CEILING_HEADER in text and text.count("98.75%") >= 3 + 3  # table and run cards
    chart = chart_of(text)
    assert "ceiling 98.75%" in chart and 'stroke-dasharray="6 4"' in chart
    # runs on different data sets: each keeps its own ceiling in the table, the chart draws no line
    mixed = [with_ceiling[0], copy(records[1], 0.9), records[2]]
    text = write_html_report(tmp_path / "mixed.html", mixed).read_text()
    assert CEILING_HEADER in text and "98.75%" in text and "90.00%" in text
    assert 'stroke-dasharray="6 4"' not in chart_of(text)


def test_a_qat_sweeps_report_leaves_out_empty_columns_and_says_why(records, tmp_path):
    """A column no run has a value for (fp32 in a QAT sweep, latency without an encrypted run) is
    not a column of dashes: it is named under the table with what it measures."""
    qat = [records[2], RunRecord.from_json({**records[2].to_json(), "id": "again"})]
    text = write_html_report(tmp_path / "qat.html", qat).read_text()
    table = re.search(r'<table class="runs">.*?</table>', text, re.S).group(0)
    for key in ("float", "latency", "warmup"):
        row = METRICS_BY_KEY[key]
        assert f"<th>{row.label}</th>" not in table
        assert f"<b>{row.label}</b>: {html.escape(row.tip)}" in text
    assert f"<th>{METRICS_BY_KEY['brevitas'].label}</th>" in table
    cells = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table)[1:]]
    assert all(len(row) == table.count("<th>") for row in cells)
    assert not any(all(row[column] == "-" for row in cells) for column in range(len(cells[0])))
    # with the float kind in the report, fp32 is a column again
    assert f"<th>{METRICS_BY_KEY['float'].label}</th>" in write_html_report(tmp_path / "all.html", records).read_text()


def test_the_report_lists_the_combinations_a_sweep_skipped(records, tmp_path):
    skipped = ["6 neurons, 3 bits, budget 7: the budget 7 is more than the 6 inputs"]
    text = write_html_report(tmp_path / "sweep.html", records, skipped=skipped).read_text()
    assert "<h2>Combinations skipped</h2>" in text and f"<li>{html.escape(skipped[0])}</li>" in text
    assert "Combinations skipped" not in write_html_report(tmp_path / "none.html", records).read_text()
    data = json.loads(write_json_report(tmp_path / "sweep.json", records, skipped=skipped).read_text())
    assert data["skipped"] == skipped


def test_card_subtitles_say_what_the_titles_do_not(records, tmp_path):
    text = write_html_report(tmp_path / "cards.html", records).read_text()
    for record in records:
        subtitle = re.search(rf"{re.escape(html.escape(record.label))}</h3><p class=\"muted\">(.*?)</p>", text).group(1)
        assert config_name(record.config) not in subtitle and "hidden layers" in subtitle
    named = RunRecord.from_json({**records[2].to_json(), "id": "named", "label": "Story 1: the guide"})
    text = write_html_report(tmp_path / "named.html", [named]).read_text()
    assert f"Story 1: the guide</h3><p class=\"muted\">{config_name(named.config)};" in text


def test_of_two_equal_runs_the_note_says_which_is_starred(records, tmp_path):
    """The star's note matches the rule: of runs equal on bits and accuracy only the first is on the front."""
    twin = RunRecord.from_json(records[2].to_json())
    twin.id = f"{twin.id}-twin"
    text = write_html_report(tmp_path / "twins.html", [records[2], twin]).read_text()
    first, second = re.findall(r"<tr><td>\d+</td><td>(.*?)</td>", text)
    assert "\u2605" in first and "\u2605" not in second
    assert "of runs equal on both, the first" in text
