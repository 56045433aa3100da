"""On a projector every table and typed grid takes the page's large type: tables are HTML (`st.table`), not
data frames (which paint their cells into a canvas at about 14 px), and typed grids are monospace text
boxes, one row a line. Off the projector nothing changes. Checked on the explorer, whose products table
and typed grids a lecture uses, and on the pooling, channels and image-kernel pages' tables."""

from __future__ import annotations

import numpy as np
import pyarrow
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.helpers import link_of, run, type_into_grid

EXPLORER = "1_Convolution_explorer.py"
TYPED = {
    "cx_in_h": "3",
    "cx_in_w": "3",
    "cx_k_h": "2",
    "cx_k_w": "2",
    "cx_in_kind": "typed",
    "cx_k_kind": "typed",
}


def grid_box(at: AppTest, grid_key: str):
    """The text box of typed grid `grid_key` in presentation mode (its key carries shape and revision)."""
    boxes = [t for t in at.text_area if t.key and t.key.startswith(f"{grid_key}_text_")]
    assert len(boxes) == 1, (grid_key, [t.key for t in at.text_area])
    return boxes[0]


def type_rows(at: AppTest, grid_key: str, text: str) -> AppTest:
    grid_box(at, grid_key).set_value(text)
    at.button(key=f"{grid_key}_apply").click()
    return at.run()


def test_on_a_projector_the_products_table_is_html_and_the_grids_are_text_boxes() -> None:
    at = run(EXPLORER, {**TYPED, "present": "1"})
    assert not [e.key for e in at.data_editor]  # no canvas-painted grid
    assert not at.main.dataframe and at.main.table  # the products table is HTML
    assert grid_box(at, "cx_typed_k").value.splitlines() == ["1  0", "0  0"]  # the default kernel, lined up
    type_rows(at, "cx_typed_in", "0 1 2\n3 4 5\n6 7 8")
    type_rows(at, "cx_typed_k", "0 1\n2 3")
    assert not at.exception and not at.error
    assert at.code[0].value == "0×0 + 1×1 + 3×2 + 4×3 = 19"  # lecture 003's first output, typed in
    assert link_of(at)["cx_typed_in"] == "0,1,2;3,4,5;6,7,8"  # the link carries the grid as before
    products = at.main.table[0].value
    assert list(products["product"]) == [0, 1, 6, 12]


def test_a_typed_grid_box_reads_fractions_and_names_a_bad_value_keeping_the_last_grid() -> None:
    at = run(EXPLORER, {**TYPED, "present": "1"})
    type_rows(at, "cx_typed_k", "1/3, 1/3\n-2/8, 1/16")
    assert link_of(at)["cx_typed_k"] == "1/3,1/3;-0.25,0.0625"
    type_rows(at, "cx_typed_k", "1 2\n3 x")
    assert at.error and "x" in at.error[0].value
    assert link_of(at)["cx_typed_k"] == "1/3,1/3;-0.25,0.0625"  # nothing lost
    type_rows(at, "cx_typed_k", "1 2 3\n4 5 6")
    assert at.error and "2×2" in at.error[0].value
    assert not at.exception


def test_switching_presentation_on_and_off_keeps_the_applied_grid() -> None:
    at = run(EXPLORER, TYPED)
    type_into_grid(at, "cx_typed_k", {(0, 0): "5", (1, 1): "-1/2"})
    at.toggle(key="present").set_value(True).run()
    assert grid_box(at, "cx_typed_k").value.split() == ["5", "0", "0", "-0.5"]
    at.toggle(key="present").set_value(False).run()
    assert not at.text_area or not any(t.key.startswith("cx_typed_k_text_") for t in at.text_area if t.key)
    assert [e.key for e in at.data_editor if e.key.startswith("cx_typed_k_editor_")]
    assert link_of(at)["cx_typed_k"] == "5,0;0,-0.5"
    assert not at.exception


@pytest.mark.parametrize(
    ("page", "link"),
    [
        ("5_Pooling.py", {}),
        ("8_Channels_and_groups.py", {}),
        ("4_Image_kernels.py", {"ik_inspect": "true"}),
        ("6_Network_builder.py", {}),
    ],
)
def test_other_pages_tables_are_html_on_a_projector(page: str, link: dict[str, str]) -> None:
    def tables(at: AppTest) -> list:  # read-only tables (the builder's layer editor is a data editor)
        return [d for d in at.main.dataframe if not (d.key or "").startswith("nb_table")]

    plain = run(page, link)
    presenting = run(page, {**link, "present": "1"})
    assert len(tables(plain)) >= 1
    assert tables(presenting) == [] and len(presenting.main.table) >= len(tables(plain))
    assert not presenting.exception


def test_a_very_large_table_keeps_scrolling_on_a_projector() -> None:
    from cnnviz.ui.presentation import MAX_HTML_TABLE_CELLS

    side = int(np.ceil(np.sqrt(MAX_HTML_TABLE_CELLS))) + 1
    script = f"""
import numpy as np, pandas as pd, streamlit as st
from cnnviz.ui.presentation import PRESENT_KEY, table
st.session_state[PRESENT_KEY] = True
table(pd.DataFrame(np.zeros(({side}, {side}))))
table(pd.DataFrame(np.zeros((3, 3))))
"""
    at = AppTest.from_string(script, default_timeout=60).run()
    assert len(at.dataframe) == 1 and len(at.table) == 1


def test_an_html_table_writes_decimals_as_a_data_frame_does() -> None:
    script = """
import pandas as pd, streamlit as st
from cnnviz.ui.presentation import PRESENT_KEY, table
st.session_state[PRESENT_KEY] = True
table(pd.DataFrame({"value": [8.0, 0.0625, -0.0, 1 / 3], "name": ["a", "b", "c", "d"]}), hide_index=True)
"""
    at = AppTest.from_string(script, default_timeout=60).run()
    shown = pyarrow.ipc.open_stream(at.table[0].proto.arrow_data.styler.display_values).read_all()
    assert shown.column("value").to_pylist() == ["8", "0.0625", "0", "0.333333"]  # the texts drawn


def test_the_network_builder_shows_its_layers_large_and_edits_them_in_an_expander() -> None:
    plain = run("6_Network_builder.py")
    presenting = run("6_Network_builder.py", {"present": "1"})
    editor = [d for d in presenting.main.dataframe if (d.key or "").startswith("nb_table")]
    assert len(editor) == 1  # still there, and still driving the network
    assert any(e.label == "Edit the layers" for e in presenting.main.expander)
    assert not any(e.label == "Edit the layers" for e in plain.main.expander)
    layers = presenting.main.table[0].value
    assert list(layers.columns) == ["type", "arguments", "inputs"] and len(layers) >= 5
    assert not presenting.exception


def test_a_frames_arrow_form_is_made_once_and_goes_with_the_frame() -> None:
    import gc

    import pandas as pd

    from cnnviz.ui import presentation

    frame = pd.DataFrame(np.arange(6.0).reshape(2, 3))
    arrow = presentation.as_arrow(frame)
    assert isinstance(arrow, pyarrow.Table)
    assert arrow.equals(pyarrow.Table.from_pandas(frame))
    assert presentation.as_arrow(frame) is arrow  # the second run's table is the first one's
    other = pd.DataFrame(np.arange(6.0).reshape(2, 3) + 1)
    assert presentation.as_arrow(other) is not arrow
    key = id(frame)
    del frame, arrow
    gc.collect()
    assert key not in presentation._ARROW
    mixed = pd.DataFrame({"a": [1, "x"]})  # Arrow takes no column of ints and strings: Streamlit's own way
    assert presentation.as_arrow(mixed) is mixed


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "uint8"])
def test_a_numpy_grid_goes_as_the_arrow_table_of_its_frame(dtype: str) -> None:
    import pandas as pd

    from cnnviz.ui import presentation

    rng = np.random.default_rng(0)
    for rows, columns in ((1, 1), (3, 3), (5, 2), (2, 7)):
        values = (rng.normal(size=(rows, columns)) * 50).astype(dtype)
        frame = pd.DataFrame(values, columns=[str(c) for c in range(columns)])
        made = presentation._grid_arrow(values)
        expected = pyarrow.Table.from_pandas(frame)
        # The index metadata too: the very table Streamlit makes of the frame.
        assert made.equals(expected, check_metadata=True)
        assert made.to_pandas().equals(frame)
        strided = values.T.copy().T  # a column-major array reads the same
        assert presentation._grid_arrow(strided).equals(expected, check_metadata=True)


def test_a_numpy_grid_is_a_data_frame_off_the_projector_and_html_on_it() -> None:
    script = """
import numpy as np, streamlit as st
from cnnviz.ui.presentation import PRESENT_KEY, table
st.session_state[PRESENT_KEY] = st.query_params.get("present") == "1"
table(np.array([[0.5, 1 / 3], [2.0, -1.0]]), number_format="%.3f", hide_index=True,
      column_config={"1": st.column_config.Column(width=90)})
"""
    plain = AppTest.from_string(script, default_timeout=60).run()
    assert not plain.exception and len(plain.dataframe) == 1 and not plain.table
    shown = plain.dataframe[0]
    assert shown.value.values.tolist() == [[0.5, 1 / 3], [2.0, -1.0]]
    config = json_config(shown)
    assert config["0"]["type_config"]["format"] == "%.3f" and config["1"]["width"] == 90
    assert config["1"]["type_config"]["format"] == "%.3f"  # the caller's width kept, the format added
    presenting = AppTest.from_string(script, default_timeout=60)
    presenting.query_params["present"] = "1"
    presenting.run()
    assert not presenting.exception and not presenting.dataframe and len(presenting.table) == 1
    text = pyarrow.ipc.open_stream(presenting.table[0].proto.arrow_data.styler.display_values).read_all()
    assert text.column("1").to_pylist() == ["0.333", "-1.000"]
    from cnnviz.ui.presentation import table

    for bad in (np.zeros(3), np.zeros((2, 2, 2)), np.array([["a", "b"]])):
        with pytest.raises(TypeError, match="2D array of numbers"):
            table(bad)


def json_config(element) -> dict:
    import json

    return json.loads(element.proto.columns)
