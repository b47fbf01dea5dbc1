"""Text alternatives of charts, checked against hand-worked specs: what is plotted and the numbers that matter."""

import altair as alt
import numpy as np
import pandas as pd
import pytest

from core.describe import MAX_CHARS, describe, grid_values, number, picture


def lines(a, b) -> dict:
    df = pd.DataFrame({"step": [0, 1, 2] * 2, "loss": a + b, "run": ["FC"] * 3 + ["ConvNet"] * 3})
    return alt.Chart(df).mark_line().encode(x=alt.X("step:Q"), y=alt.Y("loss:Q", title="training loss"),
                                            color="run:N").properties(title="Loss").to_dict()


def test_a_line_chart_says_each_series_first_last_and_range():
    said = describe(lines([2.3, 0.9, 0.5], [2.3, 0.4, 0.6]))
    assert said == ("Loss. Line of training loss against step: FC: 2.3 at 0 to 0.5 at 2; "
                    "ConvNet: 2.3 at 0 to 0.6 at 2 (lowest 0.4, highest 2.3).")


def test_the_sentence_follows_the_data_both_ways():
    rising, falling = describe(lines([1, 2, 3], [1, 2, 3])), describe(lines([3, 2, 1], [3, 2, 1]))
    assert "FC: 1 at 0 to 3 at 2" in rising and "FC: 3 at 0 to 1 at 2" in falling


def test_rows_out_of_order_are_read_along_x():
    df = pd.DataFrame({"x": [2, 0, 1], "y": [30, 10, 20]})
    assert "10 at 0 to 30 at 2" in describe(alt.Chart(df).mark_line().encode(x="x:Q", y="y:Q").to_dict())


def test_bars_name_each_value_and_many_bars_their_extremes():
    few = pd.DataFrame({"model": ["ConvNet", "fully connected"], "accuracy": [95.8, 89.3]})
    said = describe(alt.Chart(few).mark_bar().encode(x="model:N", y=alt.Y("accuracy:Q", title="accuracy %"))
                    .to_dict(), lead="Test accuracy after 1 epoch")
    assert said == ("Test accuracy after 1 epoch. Bars of accuracy % by model: ConvNet 95.8; "
                    "fully connected 89.3.")
    many = pd.DataFrame({"i": range(40), "v": [5.0] * 17 + [-1.5] + [5.0] * 21 + [9.25]})
    said = describe(alt.Chart(many).mark_bar().encode(x="i:O", y="v:Q").to_dict())
    assert said == "40 bars of v by i, lowest 17 at -1.5, highest 39 at 9.25."
    horizontal = describe(alt.Chart(few).mark_bar().encode(y="model:N", x="accuracy:Q").to_dict())
    assert "by model: ConvNet 95.8" in horizontal


def test_a_grid_says_its_size_panels_and_range():
    cells = pd.DataFrame([{"row": r, "col": c, "w": r - c, "kind": k} for k in ("shared", "unshared")
                          for r in range(3) for c in range(5)])
    chart = alt.Chart(cells).mark_rect().encode(x="col:O", y="row:O", color=alt.Color("w:Q", title="weight"))
    assert describe(chart.to_dict()) == "A 3 × 5 grid of cells, coloured by weight from -4 to 2."
    faceted = chart.facet(column="kind:N").to_dict()
    assert describe(faceted) == ("A 3 × 5 grid of cells in 2 panels (shared, unshared), coloured by weight "
                                 "from -4 to 2.")


def test_layers_rules_and_labels():
    df = pd.DataFrame({"depth": [1, 2, 3], "rf": [11, 51, 195]})
    line = alt.Chart(df).mark_line().encode(x="depth:Q", y=alt.Y("rf:Q", title="field"))
    rule = alt.Chart(pd.DataFrame({"y": [224]})).mark_rule().encode(y=alt.Y("y:Q", title="input"))
    text = alt.Chart(df).mark_text().encode(x="depth:Q", y="rf:Q", text="rf:Q")
    said = describe(alt.layer(line, rule, text).to_dict())
    assert said == "Line of field against depth: 11 at 1 to 195 at 3; reference lines at input 224."


def test_rows_a_transform_changes_are_not_read_as_drawn():
    df = pd.DataFrame({"x": [0, 1], "y": [5, 7]})
    chart = alt.Chart(df).transform_calculate(y2="datum.y * 100").mark_line().encode(x="x:Q", y="y2:Q")
    said = describe(chart.properties(title="Scaled").to_dict())
    assert said == "Scaled." and "7" not in said


def test_points_say_where_they_lie():
    df = pd.DataFrame({"x": [-1, 0, 1, 2], "y": [0, 4, -2, 1], "stage": ["in", "in", "out", "out"]})
    said = describe(alt.Chart(df).mark_point().encode(x="x:Q", y="y:Q", color="stage:N").to_dict())
    assert said == "Points of y against x; in: 2 points, x -1 to 0, y 0 to 4; out: 2 points, x 1 to 2, y -2 to 1."


def test_arrow_and_named_datasets_read_as_records():
    import pyarrow as pa

    df = pd.DataFrame({"x": [0, 1, 2], "y": [3.0, 1.0, 2.0]})
    spec = alt.Chart(alt.NamedData("d")).mark_line().encode(x="x:Q", y="y:Q").to_dict()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, pa.Schema.from_pandas(df, preserve_index=False)) as w:
        w.write_table(pa.Table.from_pandas(df, preserve_index=False))
    for rows in (df.to_dict("records"), df, sink.getvalue().to_pybytes()):
        assert describe({**spec, "datasets": {"d": rows}}) == "Line of y against x: 3 at 0 to 2 at 2 (lowest 1, highest 3)."


def test_numbers_and_length():
    assert [number(v) for v in (16254, 0.000384, 2.5, float("nan"), -3.0, "relu")] == \
           ["16,254", "0.000384", "2.5", "no value", "-3", "relu"]
    many = pd.DataFrame({"x": np.tile(np.arange(3), 40), "y": np.arange(120.0), "s": np.repeat(
        [f"a series with a long name {i}" for i in range(40)], 3)})
    said = describe(alt.Chart(many).mark_line().encode(x="x:Q", y="y:Q", color="s:N").to_dict())
    assert said.endswith("; 32 more series.")  # eight series named, the rest counted
    long = describe(alt.Chart(many).mark_line().encode(x="x:Q", y="y:Q").to_dict(), lead="a word " * 200)
    assert len(long) <= MAX_CHARS and long.endswith(" …")


def test_a_grid_of_numbers_is_read_row_by_row_with_its_marks():
    cells = pd.DataFrame({"row": [0, 0, 1, 1], "col": [0, 1, 0, 1], "value": [1.0, -2.5, np.nan, 4.0],
                          "state": ["this step", "cell", "padding", "cell"]})
    said = grid_values(cells, "input", {"this step": ("[", "]"), "padding": ("{", "}")})
    assert said == ("Input, 2 × 2 (this step in square brackets, padding in braces): row 0: [1] -2.5; "
                    "row 1: {blank} 4")
    assert grid_values(cells.iloc[:2].assign(state="cell"), "kernel") == "Kernel, 2 cells: 1 -2.5"


@pytest.mark.parametrize("values, said", [
    ([[0, 1], [5, 2]], "kernel 1, 2 × 2: values 0 to 5, highest at row 1, column 0"),
    ([[3, 3]], "kernel 1, 1 × 2: every value 3"),
    ([0.5, -1, 2], "kernel 1, 3: values -1 to 2, highest at position 2"),
])
def test_a_picture_says_its_size_range_and_peak(values, said):
    assert picture("kernel 1", values) == said


def test_a_colour_scale_of_values_is_not_a_set_of_series():
    """A point cloud coloured along itself (the linear page's) is one cloud per panel, not 2,400 series."""
    df = pd.DataFrame({"x": np.linspace(-1, 1, 50), "y": np.linspace(2, 0, 50), "t": np.arange(50)})
    said = describe(alt.Chart(df).mark_circle().encode(x="x:Q", y="y:Q", color="t:Q").to_dict())
    assert said == "Points of y against x; 50 points, x -1 to 1, y 0 to 2."
