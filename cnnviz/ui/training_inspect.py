"""Look inside the session's run: feature maps of a test sample, the worst test samples, and a prediction on
an input the person draws (on a drawing pad, or as a text grid of ink levels: the two show the same values)
or uploads (a picture through the safe image loader).

The feature maps and worst samples are drawn inside the page's timed fragment from the run's snapshot; the
prediction panel is drawn once per script run. Figures are cached per (run, step, choice) in the session.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from cnnviz.errors import ConvConfigError
from cnnviz.images.loading import UPLOAD_TYPES, LoadedImage, load_image
from cnnviz.plots.training import feature_maps_figure, probabilities_figure, samples_figure
from cnnviz.training.datasets import DATASETS, load_dataset
from cnnviz.training.inputs import (
    INK_LEVELS,
    grid_cell,
    grid_from_drawing,
    grid_from_input,
    grid_shape,
    grid_text,
    image_to_input,
    ink_text,
    parse_grid_text,
)
from cnnviz.training.runs import RunState, TrainingRun
from cnnviz.training.trainer import SampleView
from cnnviz.ui.draw_canvas import drawing, drawing_pad
from cnnviz.ui.layout import show_error
from cnnviz.ui.presentation import chart, is_presenting
from cnnviz.ui.url_state import url

__all__ = ["cached_figure", "feature_maps_view", "prediction_view", "worst_samples_view"]

_PLOT_CONFIG = {"displayModeBar": False}
_FIGURE_CACHE_SIZE = 12
# px of the titles over each small picture (normal, presentation): presentation mode enlarges 14 to 21 px.
_TILE_TITLE = {False: 10, True: 14}


def cached_figure(prefix: str, key: tuple, build: Callable[[], go.Figure]) -> go.Figure:
    """`build()` once per key in this session (a few recent figures are kept): reruns reuse the figure."""
    cache: dict[tuple, go.Figure] = st.session_state.setdefault(f"{prefix}_figures", {})
    if key not in cache:
        if len(cache) >= _FIGURE_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = build()
    return cache[key]


@st.cache_data(max_entries=4, show_spinner="Decoding the picture…")
def _decoded(data: bytes, name: str) -> LoadedImage:
    """The safe loader (size, format and decompression-bomb checks), once per file content."""
    return load_image(data, name)


def _upscaled(x: np.ndarray, side: int = 140) -> np.ndarray:
    """A (1, H, W) sample in [0, 1] as a (side', side') grey picture with sharp pixels, for st.image."""
    img = np.clip(np.asarray(x, dtype=np.float32)[0], 0.0, 1.0)
    factor = max(1, side // max(img.shape))
    return np.kron(img, np.ones((factor, factor), dtype=np.float32))


def _show_sample(where, x: np.ndarray, caption: str) -> None:
    """A sample as a small picture (images) or a line (signals)."""
    if x.ndim == 3:
        where.image(_upscaled(x), clamp=True)
    else:
        where.line_chart(np.asarray(x[0]), height=160)
    where.caption(caption)


def _sample_view(run: TrainingRun, state: RunState, index: int) -> SampleView | None:
    """Feature maps of test sample `index`: from the latest snapshot if it shows that sample, else now."""
    snap = state.snapshot
    if snap is not None and snap.sample_index == index:
        return SampleView(snap.step, index, snap.sample, snap.sample_label, snap.feature_maps)
    run.set_sample(index)  # later snapshots follow the new choice
    return run.sample_view(index)


def feature_maps_view(run: TrainingRun, state: RunState, prefix: str) -> None:
    """A test-sample picker, the sample, and each conv layer's feature maps for it."""
    info = DATASETS[state.config.dataset]
    n_test = len(load_dataset(state.config.dataset).y_test)
    index = int(
        url.number_input(
            "Test sample",
            min_value=0,
            max_value=n_test - 1,
            value=0,
            step=1,
            key=f"{prefix}_sample",
            help=f"Which of the {n_test} test samples to pass through the network.",
        )
    )
    try:
        view = _sample_view(run, state, index)
    except ConvConfigError as exc:
        show_error(exc)
        return
    if view is None:
        return
    left, right = st.columns([1, 4])
    _show_sample(left, view.sample, f"test sample {index}: {info.class_names[view.label]}")
    if not view.feature_maps:
        right.info("This model has no conv layers: an MLP has no feature maps, only its weights (Filters).")
        return
    big = is_presenting()
    with right:
        st.caption(f"What each conv layer (after its activation) makes of this sample, at step {view.step}.")
        for fmap in view.feature_maps:
            fig = cached_figure(
                prefix,
                ("maps", run.serial, view.step, index, fmap.index, big),
                lambda fmap=fmap: feature_maps_figure(
                    fmap.values,
                    f"layer {fmap.index}: {fmap.layer} → {tuple(fmap.values.shape)}",
                    title_size=_TILE_TITLE[big],
                ),
            )
            chart(fig, key=f"{prefix}_maps_{fmap.index}", config=_PLOT_CONFIG)


def worst_samples_view(run: TrainingRun, state: RunState, prefix: str) -> None:
    """The test samples with the highest loss: true and predicted class and the model's confidence."""
    snap = state.snapshot
    if snap is None or not snap.worst:
        st.caption("The worst samples appear with the first snapshot.")
        return
    names = DATASETS[state.config.dataset].class_names
    titles = [
        f"#{w.index}: {names[w.label]} → {names[w.predicted]} ({100 * w.p_predicted:.0f} %)"
        for w in snap.worst
    ]
    big = is_presenting()
    fig = cached_figure(
        prefix,
        ("worst", run.serial, snap.step, big),
        lambda: samples_figure(
            [w.x for w in snap.worst],
            titles,
            f"The {len(titles)} worst test samples at step {snap.step}",
            cell_px=200 if big else 110,
            title_size=_TILE_TITLE[big],
        ),
    )
    chart(fig, key=f"{prefix}_worst", config=_PLOT_CONFIG)
    wrong = sum(w.label != w.predicted for w in snap.worst)
    st.caption(
        "Highest test loss first. Each title: test index, true class → predicted class (the model's "
        f"confidence in its choice). {wrong} of these {len(titles)} are misclassified."
    )


def _take_drawing(pad_key: str, text_key: str, input_shape: tuple[int, ...]) -> None:
    """After a stroke on the pad: its grid becomes the text grid's text (or the reason it cannot)."""
    try:
        grid = grid_from_drawing(drawing(pad_key), input_shape)
    except ConvConfigError as exc:
        st.session_state[f"{pad_key}_error"] = exc
        return
    st.session_state.pop(f"{pad_key}_error", None)
    st.session_state[text_key] = ink_text(grid)


def _drawn_input(dataset: str, input_shape: tuple[int, ...], prefix: str) -> np.ndarray | None:
    """A drawing pad and a text grid of ink levels (or a signal's values), filled from a test sample and
    showing the same values; None after an error."""
    data = load_dataset(dataset)  # un-shuffled: what people see
    start = int(
        url.number_input(
            "Start from test sample",
            min_value=0,
            max_value=len(data.y_test) - 1,
            value=0,
            step=1,
            key=f"{prefix}_try_start",
        )
    )
    signal = len(input_shape) == 2
    text_key, pad_key = f"{prefix}_grid", f"{prefix}_pad"
    pad = None if signal else st.container()  # above the text; drawn once the text is known
    # A fixed-width font keeps the grid's columns straight, so the drawing reads as a picture.
    st.html(f"<style>.st-key-{text_key} textarea{{font-family:monospace;letter-spacing:0.25em}}</style>")
    sample_text = grid_text(data.x_test[start], input_shape)
    filled_from = st.session_state.get(f"{prefix}_grid_from")
    if text_key not in st.session_state or filled_from != (dataset, start):  # refill from the sample
        st.session_state[text_key] = sample_text
        st.session_state[f"{prefix}_grid_from"] = (dataset, start)
    line = 40 if is_presenting() else 22  # px a row of the text grid takes
    # In the link only when edited: the sample's own grid is the default.
    text = url.text_area(
        "Signal values" if signal else "The drawing as text",
        value=sample_text,
        key=text_key,
        height=120 if signal else 60 + line * input_shape[1] // grid_cell(input_shape),
        help=(
            "Numbers separated by commas."
            if signal
            else f"One line per row: . or 0 is background, 1 to {INK_LEVELS} is ink. Edit the cells to draw; "
            "the pad above shows the same cells."
        ),
    )
    try:
        x = parse_grid_text(text, input_shape)
    except ConvConfigError as exc:
        show_error(exc)
        x = None
    if pad is not None:
        rows, cols = grid_shape(input_shape)
        with pad:
            drawing_pad(
                None if x is None else grid_from_input(x, input_shape),
                (rows, cols),
                key=pad_key,
                max_level=INK_LEVELS,
                on_drawn=lambda: _take_drawing(pad_key, text_key, input_shape),
                label=f"Drawing pad: {rows} by {cols} cells of ink 0 to {INK_LEVELS}, the same as the text below",
            )
            if f"{pad_key}_error" in st.session_state:
                show_error(st.session_state.pop(f"{pad_key}_error"))
    return x


def _uploaded_input(input_shape: tuple[int, ...], prefix: str) -> np.ndarray | None:
    """A picture through the safe loader, in grey, resized to the model's input; None if none or bad."""
    if len(input_shape) != 3:
        st.info("This model reads 1-D signals, not pictures: draw a signal instead.", icon=":material/info:")
        return None
    uploaded = st.file_uploader(
        "A picture (PNG, JPEG, WebP, GIF, BMP, TIFF)", type=list(UPLOAD_TYPES), key=f"{prefix}_try_upload"
    )
    ink = url.radio(
        "Ink",
        ["auto", "dark", "light"],
        horizontal=True,
        key=f"{prefix}_try_ink",
        format_func={"auto": "Guess", "dark": "Dark on light", "light": "Light on dark"}.get,
        help="The training data has light ink on a dark background; dark ink gets inverted.",
    )
    if uploaded is None:
        st.info("Upload a picture of a digit or a shape.", icon=":material/upload:")
        return None
    try:
        image = _decoded(uploaded.getvalue(), uploaded.name)
        invert = {"auto": None, "dark": True, "light": False}[ink]
        return image_to_input(image.array, input_shape, invert)
    except ConvConfigError as exc:
        show_error(exc)
        return None


def prediction_view(run: TrainingRun | None, prefix: str) -> None:
    """Draw or upload an input and see the session's model's class probabilities for it."""
    if run is None:
        st.info("Start a run (or load a saved one) first: then try the model on your own input.")
        return
    config = run.config
    info = DATASETS[config.dataset]
    source = url.radio(
        "Input",
        ["draw", "upload"],
        horizontal=True,
        key=f"{prefix}_try_source",
        format_func={"draw": "Draw it", "upload": "Upload a picture"}.get,
    )
    # On a projector the drawing pad takes half the width: strokes the back of the room can follow.
    left, right = st.columns([1, 1] if is_presenting() else [2, 3])
    with left:
        if source == "draw":
            x = _drawn_input(config.dataset, info.input_shape, prefix)
        else:
            x = _uploaded_input(info.input_shape, prefix)
    if x is None:
        return
    if not run.model_ready:
        with right:
            st.info("The model is being built: its prediction appears here as soon as the run starts.")
        return
    try:
        probs = run.predict(x)
    except ConvConfigError as exc:
        with right:
            show_error(exc)
        return
    with right:
        _show_sample(st, x, "what the model sees")
        best = int(np.argmax(probs))
        chart(
            probabilities_figure(
                probs, info.class_names, f"Prediction: {info.class_names[best]} ({100 * probs[best]:.1f} %)"
            ),
            key=f"{prefix}_probs",
            config=_PLOT_CONFIG,
        )
