"""Links on the quiz, image-kernels, pooling and network-builder pages: set controls and values that are not
widgets (the quiz's question, a typed kernel grid, an edited network stack), take the link, open it in a
fresh session, and find the same controls and the same computed output; tampered links give notes and
defaults, never an exception."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz.images.kernels import MAX_KERNEL_SIDE
from cnnviz.network.layers import Conv2d, MaxPool2d, ReLU
from cnnviz.network.link import MAX_LINK_CHARS, stack_to_link
from cnnviz.network.presets import PRESETS, classic_cnn
from cnnviz.network.summary_table import summarize
from cnnviz.topics.quiz import check_answer, make_question
from cnnviz.ui.image_picker import UPLOAD_NOTE
from cnnviz.ui.network_editor import TEMPLATE
from tests.app.helpers import controls, link_of, notes, reopen, run, type_into_grid

ROOT = Path(__file__).resolve().parents[2]
QUIZ = str(ROOT / "pages" / "3_Convolution_quiz.py")
KERNELS = str(ROOT / "pages" / "4_Image_kernels.py")
POOLING = str(ROOT / "pages" / "5_Pooling.py")
NETWORK = str(ROOT / "pages" / "6_Network_builder.py")


def _plain_axes(value: object) -> object:
    """A figure spec without the traces' default axis names ("xaxis": "x"), which a cached copy may omit."""
    if isinstance(value, dict):
        return {
            k: _plain_axes(v) for k, v in value.items() if not (k in ("xaxis", "yaxis") and v in ("x", "y"))
        }
    if isinstance(value, list):
        return [_plain_axes(v) for v in value]
    return value


def charts(at: AppTest) -> dict[str, object]:
    """Plotly specs by key (the figures the browser would draw)."""
    return {c.proto.id.split("-")[-1]: _plain_axes(json.loads(c.proto.spec)) for c in at.get("plotly_chart")}


def images(at: AppTest) -> list[str]:
    """Each shown picture's media address: a hash of its bytes, so equal addresses mean equal pictures."""
    return [img.url for element in at.get("image") for img in element.proto.imgs]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


# --------------------------------------------------------------------------------------------------
# Quiz: the question and the checked answer travel
# --------------------------------------------------------------------------------------------------


def test_quiz_link_reopens_the_same_question_and_feedback() -> None:
    at = run(QUIZ)
    for _ in range(4):
        at.button(key="qz_new").click().run()
    hidden = make_question(5).hidden
    for key, value in (("k", hidden.kernel_size), ("s", hidden.stride + 1), ("d", hidden.dilation), ("p", 0)):
        at.number_input(key=f"qz_{key}_q5").set_value(value)
    at.button(key="FormSubmitter:qz_form-Check").click().run()
    assert at.error and at.error[0].value == "Not quite."
    link = link_of(at)
    assert (
        link["qz_seed"] == "5"
        and link["qz_checked"] == f"{hidden.kernel_size},{hidden.stride + 1},{hidden.dilation},0"
    )
    again = reopen(at, QUIZ)
    assert again.session_state["qz_seed"] == 5
    assert charts(again) == charts(at)  # the same matrix
    assert "question 5" in json.dumps(charts(again)["qz_matrix"])
    assert [e.value for e in again.error] == ["Not quite."]
    assert [m.value for m in again.markdown] == [m.value for m in at.markdown]
    assert controls(again) == controls(at)  # the boxes hold the checked answer again
    # The answer shown travels too.
    at.button(key="qz_reveal").click().run()
    assert link_of(at)["qz_shown"] == "1"
    shown = reopen(at, QUIZ)
    assert [i.value for i in shown.info] == [i.value for i in at.info] and shown.info
    assert [m.value for m in shown.markdown] == [m.value for m in at.markdown]


def test_quiz_link_to_a_lecture_question_with_its_answer() -> None:
    at = run(QUIZ)
    at.selectbox(key="qz_source").set_value("l002-stride-2").run()
    for key, value in (("k", 3), ("s", 2), ("d", 1), ("p", 0)):
        at.number_input(key=f"qz_{key}_l002-stride-2").set_value(value)
    at.button(key="FormSubmitter:qz_form-Check").click().run()
    assert at.success
    again = reopen(at, QUIZ)
    assert again.selectbox(key="qz_source").value == "l002-stride-2" and again.success
    assert "Lecture 002: stride 2: 2 outputs × 5 inputs" in json.dumps(
        charts(again)["qz_matrix"], ensure_ascii=False
    )
    assert controls(again) == controls(at)


def test_quiz_link_without_an_answer_shares_just_the_question() -> None:
    again = run(QUIZ, {"qz_seed": "12"})
    assert again.session_state["qz_seed"] == 12 and not again.error and not again.success
    question = make_question(12)
    assert f"{question.matrix.shape[0]} outputs" in json.dumps(charts(again)["qz_matrix"])
    h = question.hidden
    assert check_answer(question, h).correct
    for key, value in (("k", h.kernel_size), ("s", h.stride), ("d", h.dilation), ("p", h.padding)):
        again.number_input(key=f"qz_{key}_q12").set_value(value)
    again.button(key="FormSubmitter:qz_form-Check").click().run()
    assert again.success and link_of(again)["qz_seed"] == "12"


@pytest.mark.parametrize(
    "link",
    [
        {"qz_seed": "abc", "qz_checked": "3,1,1,0"},
        {"qz_seed": "0", "qz_checked": "9,9,9,9"},
        {"qz_seed": "1e999", "qz_checked": "3,1"},
        {"qz_seed": "9" * 400, "qz_checked": "-1,1,1,0", "qz_k": "99"},
    ],
)
def test_quiz_tampered_link_gives_notes_and_the_first_question(link: dict[str, str]) -> None:
    at = run(QUIZ, link)
    assert len(notes(at)) >= 1
    assert any("'Question number'" in n for n in notes(at))
    assert at.session_state["qz_seed"] == 1
    assert "question 1:" in json.dumps(charts(at)["qz_matrix"])
    if link["qz_checked"] != "3,1,1,0":
        assert any("'Checked answer'" in n for n in notes(at)) and not at.error and not at.success
    assert "qz_seed" not in link_of(at)


# --------------------------------------------------------------------------------------------------
# Image kernels: every control and the typed grid
# --------------------------------------------------------------------------------------------------


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_kernels_link_reopens_the_same_typed_grid_and_result() -> None:
    at = run(KERNELS)
    at.selectbox(key="ik_sample").set_value("checkerboard").run()
    at.selectbox(key="ik_kernel").set_value("custom (type your own)").run()
    at.number_input(key="ik_rows").set_value(2).run()
    at.number_input(key="ik_cols").set_value(3).run()
    type_into_grid(at, "ik_grid", {(0, 0): "-1.5", (0, 2): "1/4", (1, 1): "2"})
    at.radio(key="ik_mode").set_value("luminance")
    at.number_input(key="ik_stride").set_value(2)
    at.radio(key="ik_padding").set_value("pixels").run()
    at.number_input(key="ik_pad_px").set_value(3)
    at.selectbox(key="ik_padding_mode").set_value("reflect")
    at.radio(key="ik_output").set_value("abs").run()
    at.number_input(key="ik_row").set_value(5)
    at.number_input(key="ik_col").set_value(7)
    at.toggle(key="ik_synced").set_value(True).run()
    assert not at.exception and not at.error
    link = link_of(at)
    assert link["ik_grid"] == "-1.5,1,0.25;0,2,0"  # the identity's 1 at (0, 1) and the edited cells
    again = reopen(at, KERNELS)
    assert controls(again) == controls(at)
    assert again.data_editor[0].value.to_numpy().tolist() == [["-1.5", "1", "0.25"], ["0", "2", "0"]]
    assert images(again) == images(at) and len(images(at)) >= 2  # the same original and result
    assert metrics(again) == metrics(at)  # the same pixel's arithmetic
    assert charts(again)["ik_synced_figure"] == charts(at)["ik_synced_figure"]


def test_kernels_link_reopens_a_named_kernel_with_its_size() -> None:
    at = run(KERNELS)
    at.selectbox(key="ik_kernel").set_value("gaussian blur").run()
    at.number_input(key="ik_size").set_value(7)
    at.number_input(key="ik_sigma").set_value(2.5).run()
    link = link_of(at)
    assert link["ik_kernel"] == "gaussian blur" and link["ik_size"] == "7" and link["ik_sigma"] == "2.5"
    again = reopen(at, KERNELS)
    assert images(again) == images(at) and metrics(again) == metrics(at)
    assert again.number_input(key="ik_sigma").value == 2.5


@pytest.mark.parametrize(
    ("link", "labels"),
    [
        ({"ik_kernel": "custom (type your own)", "ik_grid": "1,2;3"}, ["'Your kernel'"]),  # wrong shape
        ({"ik_kernel": "custom (type your own)", "ik_grid": "1,0,0;0,inf,0;0,0,0"}, ["'Your kernel'"]),
        (
            {"ik_kernel": "custom (type your own)", "ik_grid": ";".join([",".join(["1"] * 3)] * 9000)},
            ["'Your kernel'"],
        ),
        ({"ik_kernel": "custom (type your own)", "ik_rows": str(MAX_KERNEL_SIDE + 1)}, ["'rows'"]),
        (
            {"ik_kernel": "<script>", "ik_stride": "1e999", "ik_padding_mode": "mirror"},
            ["'Kernel'", "'Stride'"],
        ),
        ({"ik_sample": "../../etc/passwd", "ik_source": "disk", "ik_row": "-4"}, ["'Sample'", "'Image'"]),
    ],
)
def test_kernels_tampered_link_gives_notes_and_defaults(link: dict[str, str], labels: list[str]) -> None:
    at = run(KERNELS, link)
    for label in labels:
        assert any(label in n for n in notes(at)), (label, notes(at))
    assert not at.error
    assert len(images(at)) >= 2  # the page still filters a picture
    if "ik_grid" in link and "ik_rows" not in link:
        assert at.data_editor[0].value.to_numpy().tolist() == [
            ["0", "0", "0"],
            ["0", "1", "0"],
            ["0", "0", "0"],
        ]
        assert "ik_grid" not in link_of(at)


def test_kernels_upload_is_named_as_not_in_the_link() -> None:
    at = run(KERNELS)
    at.radio(key="ik_source").set_value("upload").run()
    picture = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    at.file_uploader(key="ik_upload").set_value(("mine.png", _png(picture), "image/png")).run()
    assert not at.exception and not at.error
    assert any(UPLOAD_NOTE in i.value for i in at.sidebar.info)
    link = link_of(at)
    assert link["ik_source"] == "upload"
    again = run(KERNELS, link)
    assert any("Upload a picture" in i.value for i in again.info)
    assert not any(UPLOAD_NOTE in i.value for i in again.info)  # nothing is made from an upload yet


# --------------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------------


def test_pooling_link_reopens_the_same_views() -> None:
    at = run(POOLING)
    at.selectbox(key="pl_pattern").set_value("random")
    at.number_input(key="pl_height").set_value(7)
    at.number_input(key="pl_width").set_value(9).run()
    at.number_input(key="pl_seed").set_value(42)
    at.radio(key="pl_kind").set_value("avg")
    at.number_input(key="pl_kernel").set_value(3)
    at.checkbox(key="pl_same_stride").set_value(False).run()
    at.number_input(key="pl_stride").set_value(2)
    at.number_input(key="pl_padding").set_value(1)
    at.checkbox(key="pl_ceil").set_value(True)
    at.checkbox(key="pl_count_pad").set_value(False)
    at.select_slider(key="pl_speed").set_value("fast")
    at.selectbox(key="pl_1d_signal").set_value("ramp").run()
    at.number_input(key="pl_1d_length").set_value(17)
    at.slider(key="pl_shift").set_value(2)
    at.number_input(key="pl_inv_kernel").set_value(3)
    at.radio(key="pl_ds_input").set_value(at.radio(key="pl_ds_input").options[1])
    at.radio(key="pl_ds_factor").set_value(4)
    at.selectbox(key="pl_up_pattern").set_value("checker")
    at.number_input(key="pl_up_kernel").set_value(3).run()
    assert not at.exception and not at.error
    again = reopen(at, POOLING)
    assert controls(again) == controls(at)
    assert charts(again) == charts(at)  # every figure: pooling, animation, 1D, shift, upsampling
    assert images(again) == images(at)  # the shrunk pictures
    assert metrics(again) == metrics(at)


@pytest.mark.parametrize(
    ("link", "labels"),
    [
        (
            {"pl_kernel": "0", "pl_kind": "min", "pl_ds_factor": "7"},
            ["'Kernel size'", "'Kind'", "'Shrink by'"],
        ),
        ({"pl_speed": "warp", "pl_shift": "2.5", "pl_ceil": "perhaps"}, ["'Speed'", "'Shift", "'ceil_mode'"]),
        ({"pl_height": "9" * 100, "pl_pattern": "%%garbage%%"}, ["'Height'", "'Input pattern'"]),
    ],
)
def test_pooling_tampered_link_gives_notes_and_defaults(link: dict[str, str], labels: list[str]) -> None:
    at = run(POOLING, link)
    for label in labels:
        assert any(label in n for n in notes(at)), (label, notes(at))
    assert not at.error
    assert charts(at)["pl_pool"] == charts(run(POOLING))["pl_pool"]  # the default pooling view
    assert not set(link) & set(link_of(at))


# --------------------------------------------------------------------------------------------------
# Network builder: the stack itself travels
# --------------------------------------------------------------------------------------------------


def summary(at: AppTest) -> pd.DataFrame:
    return next(d for d in at.dataframe if d.editing_mode == "read_only").value


def table_rows(at: AppTest) -> list[list[str]]:
    return at.data_editor[0].value.astype(str).to_numpy().tolist()


def test_network_link_reopens_an_edited_stack() -> None:
    at = run(NETWORK)
    at.selectbox(key="nb_preset").set_value("LeNet-5").run()
    # Edit a row in the table (6 -> 8 filters), then insert a ReLU after row 0 with the table tools.
    at.session_state[at.data_editor[0].key] = {
        "edited_rows": {0: {"arguments": "in_channels=1, out_channels=8, kernel_size=5"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    at.number_input(key="nb_row").set_value(0)
    at.selectbox(key="nb_new_type").set_value("ReLU").run()
    at.button(key="nb_insert").click().run()
    at.text_input(key="nb_input").set_value("1, 36, 36")
    at.number_input(key="nb_batch").set_value(3).run()
    at.selectbox(key="nb_unit_layer").set_value(at.selectbox(key="nb_unit_layer").options[0]).run()
    at.number_input(key="nb_unit_0").set_value(2)
    at.number_input(key="nb_unit_1").set_value(5).run()
    assert not at.exception
    link = link_of(at)
    assert link["nb_preset"] == "LeNet-5" and link["nb_net"].startswith("c2_1_8_5-r-")
    again = reopen(at, NETWORK)
    assert controls(again) == controls(at)
    assert table_rows(again) == table_rows(at)
    assert summary(again).equals(summary(at))
    assert metrics(again) == metrics(at)
    region, region_again = charts(at)["nb_region"], charts(again)["nb_region"]
    assert region_again["layout"]["shapes"] == region["layout"]["shapes"]  # the same unit's receptive field
    assert region_again["data"] == region["data"]
    # Independent check: the link's network gives torchinfo's numbers for that stack.
    layers = list(PRESETS["LeNet-5"].layers)
    layers[0] = Conv2d(1, 8, 5)
    layers.insert(1, ReLU())
    expected = summarize(layers, (1, 36, 36), 3)
    assert summary(again)["params"].sum() == expected.total_params


def test_network_preset_link_loads_the_preset_without_a_stack() -> None:
    at = run(NETWORK, {"nb_preset": "Stacked 3-wide convs"})  # as the lessons link it
    assert not notes(at)
    assert summary(at)["layer"].tolist() == [
        layer.code(prefix="") for layer in PRESETS["Stacked 3-wide convs"].layers
    ]
    assert "nb_net" not in link_of(at)  # the stack is the preset's: the link stays short


def test_network_template_link_builds_the_same_template() -> None:
    at = run(NETWORK)
    at.selectbox(key="nb_preset").set_value(TEMPLATE).run()
    at.number_input(key="nb_m").set_value(3)
    at.selectbox(key="nb_padding").set_value(1).run()
    again = reopen(at, NETWORK)
    assert again.number_input(key="nb_m").value == 3 and again.selectbox(key="nb_padding").value == 1
    layers = classic_cnn(2, 3, 1, input_size=(3, 32, 32), padding=1)
    assert summary(again)["layer"].tolist() == [layer.code(prefix="") for layer in layers]
    assert summary(again).equals(summary(at))


def test_network_link_with_a_preset_and_its_own_stack_keeps_the_stack() -> None:
    stack = (Conv2d(3, 4, 3), ReLU(), MaxPool2d(2))
    at = run(NETWORK, {"nb_preset": "VGG-16", "nb_net": stack_to_link(stack), "nb_input": "3, 10, 10"})
    assert not notes(at)
    assert summary(at)["layer"].tolist() == [layer.code(prefix="") for layer in stack]
    assert summary(at)["output shape"].tolist()[-1] == "(1, 4, 4, 4)"


@pytest.mark.parametrize(
    ("link", "labels"),
    [
        ({"nb_net": "c2_3_zz%%"}, ["'Network stack'"]),  # broken text
        ({"nb_net": "qq_1-r"}, ["'Network stack'"]),  # unknown layer code
        ({"nb_net": "l_" + "1" * (MAX_LINK_CHARS + 10)}, ["'Network stack'"]),  # oversized
        ({"nb_net": "-".join(["r"] * 400)}, ["'Network stack'"]),  # too many layers
        (
            {"nb_preset": "AlexNet v9", "nb_batch": "-5", "nb_row": "x"},
            ["'Preset'", "'Batch size N'", "'Row'"],
        ),
        ({"nb_unit_layer": "99 · Linear", "nb_erf_runs": "3"}, ["'Layer'", "'Average over random networks'"]),
    ],
)
def test_network_tampered_link_gives_notes_and_the_default_stack(
    link: dict[str, str], labels: list[str]
) -> None:
    at = run(NETWORK, {**link, "nb_erf": "1"} if "nb_erf_runs" in link else link)
    for label in labels:
        assert any(label in n for n in notes(at)), (label, notes(at))
    assert not at.error
    assert summary(at)["layer"].tolist() == [layer.code(prefix="") for layer in PRESETS["ConvNet"].layers]
    assert "nb_net" not in link_of(at)


def test_network_link_with_a_stack_that_reads_but_does_not_fit_shows_the_fix() -> None:
    stack = (Conv2d(3, 8, 3), Conv2d(5, 8, 3))  # channels do not match: a page error with a fix, not a note
    at = run(NETWORK, {"nb_net": stack_to_link(stack)})
    assert not notes(at)
    assert at.button(key="nb_fix").label == "Fix layer 1: set in_channels=8"
    at.button(key="nb_fix").click().run()
    assert not at.exception
    assert link_of(at)["nb_net"] == stack_to_link((Conv2d(3, 8, 3), Conv2d(8, 8, 3)))


def test_hashes_of_equal_images_are_equal() -> None:
    """The image comparisons above rely on media addresses naming the bytes they hold."""
    at = run(KERNELS)
    again = run(KERNELS)
    assert images(at) == images(again)
    other = run(KERNELS, {"ik_kernel": "sharpen"})
    assert images(other)[0] == images(at)[0] and images(other)[1] != images(at)[1]
