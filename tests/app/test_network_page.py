"""AppTest of the network builder: presets and their lecture numbers, breaking and fixing a layer, import,
the template's knobs, receptive fields, the effective field, and bad input that must never crash the page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.network import effective_receptive_field, from_json, summarize
from cnnviz.network.presets import PRESETS, classic_cnn

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "6_Network_builder.py")
TEMPLATE = "Classic CNN template [[Conv→ReLU]×N→Pool]×M→[FC→ReLU]×K→FC"
LECTURE_TOTALS = {
    "CIFAR-10 MLP": "1,645,950",
    "ConvNet": "19,570",
    "WideConvNet": "79,030",
    "DeepConvNet": "23,650",
    "MNIST-1D ConvNet": "2,050",
    "LeNet-5": "61,706",
    "VGG-16": "138,357,544",
    "ResNet-18 stem": "9,536",
}


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.run()
    assert_clean(app)
    return app


def assert_clean(at: AppTest, errors: int = 0) -> None:
    """No exception; exactly `errors` red boxes."""
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == errors, [e.value for e in at.error]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def metric_help(at: AppTest, label: str) -> str:
    return next(m.proto.help for m in at.metric if m.label == label)


def summary_table(at: AppTest) -> pd.DataFrame:
    """The per-layer summary (the first read-only table)."""
    return next(d for d in at.dataframe if d.editing_mode == "read_only").value


def editor(at: AppTest) -> AppTest:
    return at.data_editor[0]


def edit(at: AppTest, **edits: object) -> AppTest:
    """Seed the layer table's edit state (edited_rows / added_rows / deleted_rows) and rerun."""
    state = {"edited_rows": {}, "added_rows": [], "deleted_rows": []}
    state.update(edits)
    at.session_state[editor(at).key] = state
    return at.run()


def load(at: AppTest, name: str) -> AppTest:
    at.selectbox(key="nb_preset").set_value(name).run()
    assert_clean(at)
    return at


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly figures by widget key."""
    return {c.proto.id.split("-")[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def chart(at: AppTest, key: str) -> dict:
    return next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if key in c.proto.id)


def has_chart(at: AppTest, key: str) -> bool:
    return any(key in c.proto.id for c in at.get("plotly_chart"))


def code_blocks(at: AppTest) -> list[str]:
    return [c.value for c in at.code]


def text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown) + " " + " ".join(c.value for c in at.caption)


# --------------------------------------------------------------------------------------------------
# Presets and their numbers
# --------------------------------------------------------------------------------------------------


def test_default_page_shows_convnet_summary_fields_comparison_and_export(at: AppTest) -> None:
    assert at.selectbox(key="nb_preset").value == "ConvNet"
    assert metric(at, "Parameters") == "19,570"
    assert metric(at, "Output shape") == "(1, 10)"
    assert (
        metric(at, "MACs (batch of 1)") == f"{summarize(PRESETS['ConvNet'].layers, (3, 32, 32)).total_macs:,}"
    )
    table = summary_table(at)
    assert len(table) == 9 and set(table["status"]) == {"✓"}
    assert list(editor(at).value["type"]) == [layer.kind for layer in PRESETS["ConvNet"].layers]
    assert has_chart(at, "nb_growth") and has_chart(at, "nb_region") and has_chart(at, "nb_params_chart")
    assert not has_chart(at, "nb_erf_chart")
    assert metric(at, "Lecture 000's MLP") == "1,645,950"
    assert [d.proto.label for d in at.get("download_button")] == [
        "Download model.py",
        "Download network.json",
        "Download network.png",
        "Download network.svg",
    ]


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_loads_with_its_lecture_total(at: AppTest, name: str) -> None:
    load(at, name)
    preset = PRESETS[name]
    assert at.text_input(key="nb_input").value == ", ".join(map(str, preset.input_size))
    assert list(editor(at).value["type"]) == [layer.kind for layer in preset.network.layers]
    expected = summarize(preset.layers, preset.input_size)
    assert expected.ok
    assert metric_help(at, "Parameters") == f"{expected.total_params:,}"
    if name in LECTURE_TOTALS:
        assert metric_help(at, "Parameters") == LECTURE_TOTALS[name]
    assert metric(at, "Output shape") == str(expected.output_shape)
    assert len(summary_table(at)) == len(preset.layers)
    if name != "ConvNet":  # the default: choosing it again changes nothing
        assert [s.value for s in at.success] == [f"Loaded {name}."]


def test_lenet5_feature_maps_are_28_14_10_5_1(at: AppTest) -> None:
    load(at, "LeNet-5")
    shapes = list(summary_table(at)["output shape"])
    assert shapes[:7] == [
        "(1, 6, 28, 28)", "(1, 6, 28, 28)", "(1, 6, 14, 14)", "(1, 16, 10, 10)", "(1, 16, 10, 10)",
        "(1, 16, 5, 5)", "(1, 120, 1, 1)",
    ]  # fmt: skip
    assert shapes[-1] == "(1, 10)" and metric(at, "Parameters") == "61,706"


def test_vgg16_counts_are_compact_in_the_metric_and_exact_in_its_help(at: AppTest) -> None:
    load(at, "VGG-16")
    assert metric(at, "Parameters") == "138,357,544"
    assert metric(at, "MACs (batch of 1)").endswith(" G")
    assert (
        metric_help(at, "MACs (batch of 1)")
        == f"{summarize(PRESETS['VGG-16'].layers, (3, 224, 224)).total_macs:,}"
    )


@pytest.mark.parametrize(("n", "m", "k", "padding"), [(2, 2, 1, 0), (3, 2, 2, 1), (1, 1, 0, 0)])
def test_template_knobs_rebuild_the_stack(at: AppTest, n: int, m: int, k: int, padding: int) -> None:
    load(at, TEMPLATE)
    at.number_input(key="nb_n").set_value(n)
    at.number_input(key="nb_m").set_value(m)
    at.number_input(key="nb_k").set_value(k)
    at.selectbox(key="nb_padding").set_value(padding)
    at.run()
    assert_clean(at)
    kinds = list(editor(at).value["type"])
    assert kinds.count("Conv2d") == n * m and kinds.count("MaxPool2d") == m and kinds.count("Linear") == k + 1
    expected = summarize(classic_cnn(n, m, k, padding=padding), (3, 32, 32))
    assert metric_help(at, "Parameters") == f"{expected.total_params:,}"
    assert metric(at, "Output shape") == "(1, 10)"


def test_template_too_deep_breaks_and_fix_every_layer_repairs_it(at: AppTest) -> None:
    load(at, TEMPLATE)
    at.number_input(key="nb_m").set_value(4).run()  # 32 -> 28 -> 14 -> 10 -> 5 -> 1 -> 0: breaks
    assert_clean(at, errors=1)
    assert metric(at, "Output shape").startswith("✗ layer")
    assert "pooling window" in at.error[0].value
    at.button(key="nb_fix_all").click().run()
    assert_clean(at)
    assert metric(at, "Output shape") == "(1, 10)"
    assert at.success[0].value == "Applied every fix the network needed."


# --------------------------------------------------------------------------------------------------
# Breaking a layer, and the fix
# --------------------------------------------------------------------------------------------------


def test_editing_a_layer_so_it_breaks_marks_the_row_and_one_click_fixes_it(at: AppTest) -> None:
    edit(at, edited_rows={7: {"arguments": "in_features=3072, out_features=60"}})
    assert_clean(at, errors=1)
    message = at.error[0].value
    assert message.startswith("Layer 7 (Linear) does not fit.")
    assert "in_features=240" in message and "mat1 and mat2 shapes cannot be multiplied" in message
    table = summary_table(at)
    assert table["status"][7] == "✗ set in_features=240" and table["output shape"][7] == "gets (1, 240)"
    assert list(table["status"][8:]) == ["not computed"]
    assert metric(at, "Output shape") == "✗ layer 7"
    fix = at.button(key="nb_fix")
    assert fix.label == "Fix layer 7: set in_features=240"
    fix.click().run()
    assert_clean(at)
    assert at.success[0].value == "Fixed layer 7: set in_features=240."
    assert editor(at).value["arguments"][7] == "in_features=240, out_features=60"
    assert metric(at, "Output shape") == "(1, 10)" and metric(at, "Parameters") == "19,570"


def test_wrong_channels_point_at_in_channels(at: AppTest) -> None:
    edit(
        at,
        edited_rows={2: {"arguments": "in_channels=3, out_channels=15, kernel_size=3, stride=2, padding=1"}},
    )
    assert_clean(at, errors=1)
    assert at.error[0].value.startswith("Layer 2 (Conv2d) does not fit.")
    assert at.button(key="nb_fix").label == "Fix layer 2: set in_channels=15"
    at.button(key="nb_fix").click().run()
    assert_clean(at)
    assert metric(at, "Parameters") == "19,570"


def test_changing_the_input_shape_breaks_the_first_linear_and_the_fix_follows(at: AppTest) -> None:
    at.text_input(key="nb_input").set_value("3, 64, 64").run()
    assert_clean(at, errors=1)
    assert "in_features=960" in at.button(key="nb_fix").label
    at.button(key="nb_fix").click().run()
    assert_clean(at)
    assert at.text_input(key="nb_input").value == "3, 64, 64"
    assert metric(at, "Output shape") == "(1, 10)"


def test_output_size_below_one_is_a_message_with_a_fix(at: AppTest) -> None:
    load(at, "LeNet-5")
    at.text_input(key="nb_input").set_value("1, 2, 2").run()
    assert_clean(at, errors=1)
    assert "kernel 5 spans 5 cells" in at.error[0].value
    assert at.button(key="nb_fix").label == "Fix layer 0: set padding=2"


def test_flatten_over_the_batch_axis_is_fixed_to_the_default(at: AppTest) -> None:
    edit(at, edited_rows={6: {"arguments": "start_dim=0"}})
    assert_clean(at, errors=1)
    assert "would merge the batch axis" in at.error[0].value
    assert at.button(key="nb_fix").label == "Fix layer 6: use Flatten() (start_dim=1, end_dim=-1)"


def test_a_layer_without_automatic_fix_says_so(at: AppTest) -> None:
    edit(at, edited_rows={2: {"arguments": "in_channels=15, out_channels=0, kernel_size=3"}})
    assert_clean(at, errors=1)
    assert "channels must be at least 1" in at.error[0].value
    assert "No single number fixes this layer" in at.info[0].value
    assert summary_table(at)["status"][2] == "✗ no automatic fix"
    assert not any(b.key in ("nb_fix", "nb_fix_all") for b in at.button)


def test_batch_size_scales_shapes_and_macs_not_parameters(at: AppTest) -> None:
    at.number_input(key="nb_batch").set_value(4).run()
    assert_clean(at)
    assert metric(at, "Output shape") == "(4, 10)"
    assert metric(at, "Parameters") == "19,570"
    macs = summarize(PRESETS["ConvNet"].layers, (3, 32, 32), batch_size=4).total_macs
    assert metric(at, "MACs (batch of 4)") == f"{macs:,}"


# --------------------------------------------------------------------------------------------------
# Bad input never crashes the page and loses nothing
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("abc", "is not a whole number"),
        ("", "type one sample's shape"),
        ("1, 3, 32, 32", "leave out the batch"),
        ("0, 32, 32", "at least 1"),
    ],
)
def test_bad_input_shape_is_a_message_and_the_table_stays(at: AppTest, typed: str, says: str) -> None:
    at.text_input(key="nb_input").set_value(typed).run()
    assert_clean(at, errors=1)
    assert says in at.error[0].value
    assert len(editor(at).value) == 9
    assert not at.metric


def test_a_row_that_does_not_read_is_named_and_kept(at: AppTest) -> None:
    edit(at, edited_rows={0: {"arguments": "in_channels=3, out_channels="}})
    assert_clean(at, errors=1)
    assert at.error[0].value.startswith("Row 0: Conv2d: cannot read")
    assert "Fix the rows of the table" in at.info[0].value
    assert not at.metric  # no summary of a stack that is not defined


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ("in_channels=3, out_channels=15", "needs kernel_size"),
        ("in_channels=3, colour=2, out_channels=1, kernel_size=3", "has no argument `colour`"),
        ("in_channels=n, out_channels=4, kernel_size=3", "`n` is a variable"),
        ("3), print(1", "more than one call"),
    ],
)
def test_row_argument_errors_are_clear(at: AppTest, arguments: str, says: str) -> None:
    edit(at, edited_rows={0: {"arguments": arguments}})
    assert_clean(at, errors=1)
    assert says in at.error[0].value.replace("\\", "")  # shown escaped: a backtick stays a backtick


def test_a_new_row_without_a_type_asks_for_one_and_an_empty_row_is_skipped(at: AppTest) -> None:
    edit(at, added_rows=[{"arguments": "p=0.2"}])
    assert_clean(at, errors=1)
    assert at.error[0].value == "Row 9: pick a layer type in the first column"
    edit(at, added_rows=[{}])
    assert_clean(at)
    assert "Empty rows 9 are left out" in text(at)
    assert len(summary_table(at)) == 9


def test_new_row_with_type_and_deleted_rows_update_the_summary(at: AppTest) -> None:
    edit(at, added_rows=[{"type": "Dropout", "arguments": "p=0.2"}], deleted_rows=[8])
    assert_clean(at)
    assert list(summary_table(at)["layer"])[-2:] == ["Linear(240, 60)", "Dropout(p=0.2)"]
    assert metric(at, "Output shape") == "(1, 60)"


def test_empty_stack_passes_the_input_through(at: AppTest) -> None:
    edit(at, deleted_rows=list(range(9)))
    assert_clean(at)
    assert metric(at, "Output shape") == "(1, 3, 32, 32)" and metric(at, "Parameters") == "0"
    assert at.button(key="nb_insert").label == "Add"


def test_huge_layers_are_shown_and_heavy_work_is_refused_with_a_message(at: AppTest) -> None:
    import_text(at, "nn.Conv2d(3, 100000000000000000000, kernel_size=3)")
    assert_clean(at)
    assert metric(at, "Parameters") == "2.8e+21"
    assert summary_table(at)["params"][0] == 2.8e21
    at.toggle(key="nb_erf").set_value(True).run()
    assert_clean(at, errors=1)
    assert "more than this page computes" in at.error[0].value


def test_an_input_too_large_to_draw_keeps_the_summary(at: AppTest) -> None:
    load(at, "ResNet-18 stem")
    at.text_input(key="nb_input").set_value("3, 2000, 2000").run()
    assert_clean(at, errors=1)
    assert "too large to draw regions on" in at.error[0].value
    assert metric(at, "Output shape") == "(1, 64, 500, 500)"
    assert len(summary_table(at)) == 4


# --------------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------------


def import_text(at: AppTest, pasted: str) -> AppTest:
    at.text_area(key="nb_import_text").set_value(pasted)
    return at.button(key="nb_import").click().run()


def test_import_pytorch_code_replaces_the_stack_and_adapts_the_input(at: AppTest) -> None:
    code = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(1, 8, kernel_size=5, stride=2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(8 * 18, 10),
        )
"""
    import_text(at, code)
    assert_clean(at)
    assert at.success[0].value.startswith("Imported 4 layers, input shape (1, 40).")
    assert at.text_input(key="nb_input").value == "1, 40"
    assert list(editor(at).value["type"]) == ["Conv1d", "ReLU", "Flatten", "Linear"]
    assert metric(at, "Output shape") == "(1, 10)"


def test_import_json_takes_its_input_size_and_batch(at: AppTest) -> None:
    exported = json.loads(next(c for c in code_blocks(at) if c.startswith("{")))  # not the share link
    exported["input_size"], exported["batch_size"] = [3, 64, 64], 2
    import_text(at, json.dumps(exported))
    assert_clean(at, errors=1)  # the lecture's Linear(240, 60) no longer fits 64x64 input
    assert at.text_input(key="nb_input").value == "3, 64, 64" and at.number_input(key="nb_batch").value == 2


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        ("nn.Sequential(nn.Conv2d(3, 16, 3), nn.Foo())", "is not a layer the network builder knows"),
        ("nn.Sequential(nn.Conv2d(3, 16, 3)", "line 1"),
        ('{"input_size": [3, 32, 32], "layers": [{"type": "Conv2d"}]}', "Conv2d needs in_channels"),
        ('{"input_size": [3, 32, 32], "layers": [}', "not valid JSON"),
        ("   ", "nothing to import"),
    ],
)
def test_bad_import_is_a_message_and_the_stack_is_unchanged(at: AppTest, pasted: str, says: str) -> None:
    import_text(at, pasted)
    assert_clean(at, errors=1)
    assert at.error[0].value.startswith("Nothing imported, the stack is unchanged:")
    assert says in at.error[0].value
    assert metric(at, "Parameters") == "19,570"
    assert at.text_area(key="nb_import_text").value == pasted


PASTED_CLASS = """class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3)
        self.fc = nn.Linear({in_features}, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.conv(x), 1))
"""


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        (
            PASTED_CLASS.format(in_features="9" * 5000),
            "line 5: a number with more than 100 digits; layer sizes are small whole numbers",
        ),
        (
            PASTED_CLASS.format(in_features="[3]"),
            "line 5: nn.Linear: `in_features` must be a whole number, not `[3]`",
        ),
        (
            "nn.Sequential(\n    nn.Conv2d(3, 16, kernel_size=(3, 'a')),\n)",
            "line 2: nn.Conv2d: `kernel_size` must be a whole number or a tuple of whole numbers, not `(3, 'a')`",
        ),
    ],
    ids=["5000-digits", "list-for-a-size", "string-in-a-kernel"],
)
def test_pasted_code_with_a_huge_number_or_a_wrong_type_names_the_line_and_keeps_the_network(
    at: AppTest, pasted: str, says: str
) -> None:
    before = list(editor(at).value["type"])
    import_text(at, pasted)
    assert_clean(at, errors=1)
    shown = re.sub(r"\\(.)", r"\1", at.error[0].value)  # as the reader sees it: markdown escapes removed
    assert shown.startswith("Nothing imported, the stack is unchanged:") and says in shown, shown
    assert "Exceeds the limit" not in shown and "set_int_max_str_digits" not in shown
    assert list(editor(at).value["type"]) == before and metric(at, "Parameters") == "19,570"
    assert at.text_area(key="nb_import_text").value == pasted


# --------------------------------------------------------------------------------------------------
# Table tools
# --------------------------------------------------------------------------------------------------


def kinds(at: AppTest) -> list[str]:
    return list(editor(at).value["type"])


def test_table_tools_move_copy_delete_and_insert(at: AppTest) -> None:
    start = kinds(at)
    at.number_input(key="nb_row").set_value(1).run()
    at.button(key="nb_up").click().run()
    assert kinds(at)[:2] == ["ReLU", "Conv2d"] and at.number_input(key="nb_row").value == 0
    at.button(key="nb_down").click().run()
    assert kinds(at) == start and at.number_input(key="nb_row").value == 1
    at.button(key="nb_duplicate").click().run()
    assert kinds(at)[:3] == ["Conv2d", "ReLU", "ReLU"]
    at.button(key="nb_delete").click().run()
    assert kinds(at) == start
    at.number_input(key="nb_row").set_value(4).run()
    at.selectbox(key="nb_new_type").set_value("BatchNorm2d").run()
    at.button(key="nb_insert").click().run()
    assert_clean(at)
    assert kinds(at)[5] == "BatchNorm2d" and editor(at).value["arguments"][5] == "num_features=15"
    assert metric(at, "Parameters") == f"{19_570 + 30:,}"
    assert at.success[0].value == "Inserted nn.BatchNorm2d(15) at row 5."


def test_inserting_a_conv_keeps_the_stack_valid(at: AppTest) -> None:
    at.number_input(key="nb_row").set_value(3).run()
    at.selectbox(key="nb_new_type").set_value("Conv2d").run()
    at.button(key="nb_insert").click().run()
    assert_clean(at)
    assert editor(at).value["arguments"][4] == "in_channels=15, out_channels=15, kernel_size=3, padding=1"
    assert metric(at, "Output shape") == "(1, 10)"


# --------------------------------------------------------------------------------------------------
# Receptive fields, the unit picker, the effective field
# --------------------------------------------------------------------------------------------------


def test_field_table_and_growth_follow_araujo(at: AppTest) -> None:
    fields = next(
        d for d in at.dataframe if d.editing_mode == "read_only" and "jump" in d.value.columns
    ).value
    assert list(fields["r"]) == ["1", "3", "3", "7", "7", "15", "15"]
    assert list(fields["jump"]) == ["1", "2", "2", "4", "4", "8", "8"]
    growth = chart(at, "nb_growth")
    assert growth["data"][0]["y"] == [1, 3, 7, 15]  # ReLUs change nothing and are left out
    assert "From layer 6 (Flatten) on, no single window" in text(at)


def test_unit_picker_shows_the_region_with_its_padding(at: AppTest) -> None:
    at.selectbox(key="nb_unit_layer").set_value("0 · Conv2d → (1, 15, 16, 16)").run()
    assert_clean(at)
    at.number_input(key="nb_unit_0").set_value(0)
    at.number_input(key="nb_unit_1").set_value(0).run()
    assert_clean(at)
    words = text(at)
    assert "Unit (0, 0) of layer 0. It reads rows 0 to 1 and columns 0 to 1" in words
    assert "The formula's window is 3 × 3" in words
    shapes = chart(at, "nb_region")["layout"]["shapes"]
    dashed = [s for s in shapes if s.get("line", {}).get("dash") == "dash"]
    assert [(d["x0"], d["x1"], d["y0"], d["y1"]) for d in dashed] == [(-1.5, 1.5, -1.5, 1.5)]


def test_unit_picker_clamps_and_resets_when_the_layer_changes(at: AppTest) -> None:
    at.selectbox(key="nb_unit_layer").set_value("0 · Conv2d → (1, 15, 16, 16)").run()
    assert at.number_input(key="nb_unit_0").value == 8  # the centre of 16
    at.selectbox(key="nb_unit_layer").set_value("7 · Linear → (1, 60)").run()
    assert_clean(at)
    assert at.number_input(key="nb_unit_0").label == "unit feature (0 to 59)"
    assert "It reads rows 0 to 31 and columns 0 to 31" in text(at)


def test_one_dimensional_stack_draws_a_signal(at: AppTest) -> None:
    load(at, "MNIST-1D ConvNet")
    figure = chart(at, "nb_region")
    assert figure["data"][1]["name"] == "read by the unit"
    assert at.number_input(key="nb_unit_0").label == "unit position (0 to 3)"


def test_effective_field_is_computed_only_when_asked_and_matches_the_core(at: AppTest) -> None:
    assert not has_chart(at, "nb_erf_chart")
    at.toggle(key="nb_erf").set_value(True).run()
    assert_clean(at)
    assert at.select_slider(key="nb_erf_runs").value == 4
    at.select_slider(key="nb_erf_runs").set_value(2).run()
    z = chart(at, "nb_erf_chart")["data"][0]["z"]
    import base64

    grid = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(32, 32)
    expected = effective_receptive_field(PRESETS["ConvNet"].layers, (3, 32, 32), 5, (2, 2), runs=2)
    np.testing.assert_allclose(grid, expected, rtol=1e-5, atol=1e-7)
    at.toggle(key="nb_erf").set_value(False).run()
    assert not has_chart(at, "nb_erf_chart")


def test_effective_field_of_a_huge_stack_is_refused_with_a_message(at: AppTest) -> None:
    load(at, "VGG-16")
    at.toggle(key="nb_erf").set_value(True).run()  # 4 runs of 15 G multiply-adds
    assert_clean(at, errors=1)
    assert "Pick an earlier layer, fewer runs or a smaller input" in at.error[0].value


# --------------------------------------------------------------------------------------------------
# MLP comparison and export
# --------------------------------------------------------------------------------------------------


def test_mlp_comparison_for_a_classifier_a_map_stack_and_the_mlp_itself(at: AppTest) -> None:
    assert metric(at, "This stack") == "19,570" and metric(at, "MLP, same hidden widths") == "184,990"
    load(at, "ResNet-18 stem")
    assert metric(at, "One fully connected layer") == "30.21 G"
    load(at, "CIFAR-10 MLP")
    assert "no convolution" in at.info[0].value
    assert not has_chart(at, "nb_params_chart")


def test_exported_code_runs_in_pytorch_and_json_reads_back(at: AppTest) -> None:
    blocks = code_blocks(at)
    code = next(c for c in blocks if c.startswith("import torch"))
    exported = next(c for c in blocks if c.startswith("{"))  # not the share link
    namespace: dict[str, object] = {}
    exec(compile(code, "model.py", "exec"), namespace)  # the page's own export: it asserts its output shape
    assert "assert tuple(model(x).shape) == (1, 10)" in code
    network = from_json(exported)
    assert network.layers == PRESETS["ConvNet"].layers and network.input_size == (3, 32, 32)


def test_torchinfo_text_is_offered(at: AppTest) -> None:
    printed = next(c for c in code_blocks(at) if c.startswith("====="))
    assert "Total params: 19,570" in printed


# --------------------------------------------------------------------------------------------------
# Graphs: shortcuts and skips, model classes pasted as written, the diagram, escaped text
# --------------------------------------------------------------------------------------------------

CODE = Path(__file__).resolve().parents[1] / "network" / "code"


@pytest.mark.parametrize(
    ("file", "size", "params"),
    [("lecture000_convnet.py", "1, 3, 32, 32", "19,570"), ("resnet18.py", "3, 224, 224", "11,689,512"),
     ("unet.py", "1, 64, 64", "117,090"), ("lecture004_cnn.txt", "3, 32, 32", "783,114")],
)  # fmt: skip
def test_pasted_model_classes_give_their_totals(at: AppTest, file: str, size: str, params: str) -> None:
    at.text_input(key="nb_input").set_value(size.split(", ", 1)[1] if size.count(",") == 3 else size).run()
    import_text(at, (CODE / file).read_text())
    assert_clean(at)
    assert metric_help(at, "Parameters") == params
    assert at.success[0].value.startswith("Imported")
    spec = chart(at, "nb_diagram")
    assert len(spec["layout"]["shapes"]) >= 3  # one box a block


@pytest.mark.parametrize(
    ("file", "cls", "size"),
    [("lecture000_convnet.py", "ConvNet", "3, 32, 32"), ("lecture000_wideconvnet.py", "WideConvNet", "3, 32, 32"),
     ("lecture000_deepconvnet.py", "DeepConvNet", "3, 32, 32"), ("functional_net.py", "FunctionalNet", "3, 32, 32"),
     ("resnet18.py", None, "3, 224, 224"), ("unet.py", "UNet", "1, 64, 64")],
)  # fmt: skip
def test_pasted_classes_total_what_pytorch_counts(at: AppTest, file: str, cls: str | None, size: str) -> None:
    """The page's totals for code pasted as written equal the real module's numel and output shape."""
    import torch

    from tests.network.test_code_import import run_file

    model = run_file(file, cls).eval()
    shape = tuple(int(n) for n in size.split(", "))
    with torch.no_grad():
        out = tuple(model(torch.zeros(1, *shape)).shape)
    at.text_input(key="nb_input").set_value(size).run()
    import_text(at, (CODE / file).read_text())
    assert_clean(at)
    assert at.success[0].value.startswith("Imported")
    assert metric_help(at, "Parameters") == f"{sum(p.numel() for p in model.parameters()):,}"
    assert metric(at, "Output shape") == str(out)
    assert summary_table(at)["params"].sum() == sum(p.numel() for p in model.parameters())


def test_resnet18_preset_draws_its_shortcuts_and_counts_its_mult_adds(at: AppTest) -> None:
    load(at, "ResNet-18")
    assert metric(at, "Parameters") == "11,689,512" and metric(at, "Output shape") == "(1, 1000)"
    spec = chart(at, "nb_diagram")
    texts = [a["text"] for a in spec["layout"]["annotations"]]
    assert sum("Add" in t for t in texts) == 8 and any("64×56×56" in t for t in texts)
    reads = summary_table(at)["reads"].tolist()
    assert sum(bool(r) for r in reads) >= 8  # every Add names the rows it merges


def test_a_shortcut_typed_in_the_inputs_column_breaks_and_the_fix_projects_it(at: AppTest) -> None:
    # ConvNet: row 2 is a stride-2 conv; an Add of rows 3 and 1 merges (15, 8, 8) with (15, 16, 16)
    edit(at, added_rows=[{"type": "Add", "arguments": "", "inputs": "3, 1"}])
    assert_clean(at, errors=1)
    assert "1x1 convolution" in at.error[0].value
    at.button(key="nb_fix").click().run()
    assert_clean(at, errors=0)
    assert "Conv2d" in kinds(at)[-3] and kinds(at)[-1] == "Add"


CRAFTED = "![x](https://example.com/a.png)[click](http://www.example.com)<a href=x>y</a> me@example.com"


def _crafted_stack() -> str:
    from cnnviz.network import Conv2d
    from cnnviz.network.link import stack_to_link

    return stack_to_link([Conv2d(3, 4, 3, padding=1, padding_mode=CRAFTED)])


@pytest.mark.parametrize(
    ("key", "value"),
    [("nb_input", CRAFTED), ("nb_input", "3, 32, " + CRAFTED), ("nb_net", None), ("nb_net", CRAFTED),
     ("nb_preset", CRAFTED), ("nb_batch", CRAFTED), ("nb_unit_layer", CRAFTED)],
    ids=["input", "input-after-numbers", "stack-layer-argument", "stack-text", "preset", "batch", "unit"],
)  # fmt: skip
def test_a_crafted_link_value_shows_as_text_never_as_a_link_or_image(key: str, value: str | None) -> None:
    """Every message, note, caption and markdown text of the page, rendered as Markdown, holds no live link,
    remote image, HTML or bare URL, wherever the link's value is quoted back."""
    from tests.app.helpers import live_markdown, shown_messages

    app = AppTest.from_file(PAGE, default_timeout=60)
    app.query_params[key] = _crafted_stack() if value is None else value
    app.run()
    assert not app.exception
    # The bad value is named in an error or a note about the link, quoting it as text.
    assert app.error or [w for w in app.warning if "link's value" in w.value]
    if value is None:
        assert any("example" in e.value for e in app.error)
    for text in shown_messages(app):
        assert not live_markdown(text), text


def test_a_link_with_100000_channels_and_the_effective_field_is_refused_quickly() -> None:
    """A shared link may ask for any stack: the effective field's cost is checked before PyTorch runs it."""
    import time

    from cnnviz.network import Conv2d, ReLU
    from cnnviz.network.link import stack_to_link

    app = AppTest.from_file(PAGE, default_timeout=60)
    app.query_params["nb_net"] = stack_to_link(
        [Conv2d(3, 100_000, 3, padding=1), ReLU(), Conv2d(100_000, 8, 3)]
    )
    app.query_params["nb_erf"] = "true"
    start = time.perf_counter()
    app.run()
    took = time.perf_counter() - start
    assert_clean(app, errors=1)
    assert "more than this page computes" in app.error[0].value
    assert metric(app, "Parameters") == "10,000,008" and took < 5.0
    app.select_slider(key="nb_erf_runs").set_value(1).run()  # still refused with a single run
    assert_clean(app, errors=1)
    assert not has_chart(app, "nb_erf_chart")


HOSTILE_PASTES = {
    # the box keeps its first 200,000 characters, as the browser does: 18,182 layers, refused unread
    "a-million-layers": ("nn.ReLU(),\n" * 1_000_000, "the code makes 18,182 calls"),
    "deep-json": ('{"layers": ' + "[" * 5000 + "]" * 5000 + "}", "nests 5001 deep"),
    "5000-digit-integer": (
        '{"input_size": [3, 32, 32], "layers": [{"type": "Linear", "in_features": ' + "9" * 5000 + "}]}",
        "more than 18 digits",
    ),
    "not-for-the-table": ("nn.Dropout(p=1e999)", "table cannot hold"),
}


@pytest.mark.parametrize(("pasted", "says"), HOSTILE_PASTES.values(), ids=HOSTILE_PASTES.keys())
def test_hostile_pastes_are_a_message_and_the_stack_is_unchanged(at: AppTest, pasted: str, says: str) -> None:
    import time

    start = time.perf_counter()
    import_text(at, pasted)
    assert time.perf_counter() - start < 5.0
    assert_clean(at, errors=1)
    assert (
        at.error[0].value.startswith("Nothing imported, the stack is unchanged:")
        and says in at.error[0].value
    )
    assert metric(at, "Parameters") == "19,570"


def test_the_diagram_files_are_made_only_when_their_download_is_clicked(
    at: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PNG and SVG of the diagram are drawn on a click (deferred download data), not on every rerun:
    the PNG alone takes ~30 ms."""
    import importlib

    views = importlib.import_module("cnnviz.ui.network_views")
    made: list[str] = []
    png, svg = views.diagram_png, views.diagram_svg
    monkeypatch.setattr(views, "diagram_png", lambda d: made.append("png") or png(d))
    monkeypatch.setattr(views, "diagram_svg", lambda d: made.append("svg") or svg(d))
    views.png_of.clear()
    views.svg_of.clear()
    load(at, "WideConvNet")
    assert_clean(at)
    buttons = {d.proto.label: d.proto for d in at.get("download_button")}
    for label in ("Download network.png", "Download network.svg"):
        assert buttons[label].HasField("deferred_file_id"), label
    assert made == []


def test_the_summary_and_figures_are_shared_not_copied_per_rerun(at: AppTest) -> None:
    """A rerun reads the summary and each cached figure from one shared copy (a data cache would unpickle
    a new one every time)."""
    import importlib

    from cnnviz.network import Network, to_json

    views = importlib.import_module("cnnviz.ui.network_views")
    network = Network(PRESETS["ConvNet"].network.nodes, PRESETS["ConvNet"].input_size)
    key = to_json(network, indent=None)
    result = views.summary_of(key, network)
    assert views.summary_of(key, network) is result
    assert views.growth_picture(key, result) is views.growth_picture(key, result)
    region = views.region_of(key, network, 2, (3, 3))
    assert views.region_of(key, network, 2, (3, 3)) is region and not region.mask.flags.writeable


def test_the_shared_layer_rows_stay_as_loaded_while_the_table_is_edited_and_the_summary_follows(
    at: AppTest,
) -> None:
    from cnnviz.ui import network_editor

    network = network_editor._network_of(at.session_state[network_editor.K_NETWORK])
    rows = network_editor._layers_frame(network)
    before = rows.copy()
    edit(at, edited_rows={7: {"arguments": "in_features=3072, out_features=60"}})
    assert_clean(at, errors=1)
    assert rows.equals(before)  # the edits went into the editor's copy, not into the frame runs share
    assert network_editor._layers_frame(network) is rows
    assert summary_table(at)["status"][7].startswith("✗")
    edit(at)  # the edits undone: the summary is the loaded network's again, not the broken one's
    assert_clean(at)
    assert list(summary_table(at)["status"]) == ["✓"] * len(network.layers)


def test_a_broken_networks_summary_is_coloured_by_a_new_styler_each_time_over_the_shared_rows() -> None:
    from cnnviz.network.code import layer_from_arguments
    from cnnviz.ui import network_editor

    layers = list(PRESETS["ConvNet"].layers)
    layers[7] = layer_from_arguments("Linear", "in_features=3072, out_features=60")
    broken = summarize(layers, (3, 32, 32))
    rows = network_editor._summary_rows(broken)
    before = rows.copy()
    first, second = network_editor._coloured(rows, broken), network_editor._coloured(rows, broken)
    assert first is not second and first.data is rows and second.data is rows  # no Styler shared by two runs
    html = first.to_html()
    assert "#ffe3e3" in html and "#adb5bd" in html  # the breaking row red, the rows after it grey
    assert rows.equals(before)
    whole = summarize(PRESETS["ConvNet"].layers, (3, 32, 32))
    plain = network_editor._summary_rows(whole)
    assert network_editor._coloured(plain, whole) is plain  # nothing to colour: the plain frame itself
