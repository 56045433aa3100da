"""Upload a picture or pick a sample: one widget group for every page that works on photos."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from cnnviz.errors import ConvConfigError
from cnnviz.images import SAMPLES, UPLOAD_TYPES, LoadedImage, load_image, sample_image
from cnnviz.ui.layout import show_error

__all__ = ["PickedImage", "image_picker"]


@dataclass(frozen=True)
class PickedImage:
    """The chosen picture, a short key that identifies it (for caches) and a label to show."""

    image: LoadedImage
    key: str
    label: str


@st.cache_data(max_entries=4, show_spinner="Decoding the picture…")
def _decoded(data: bytes, name: str) -> LoadedImage:
    """Decode once per file content (cache keyed on the bytes' hash; a rerun costs a copy, not a decode)."""
    return load_image(data, name)


@st.cache_data(max_entries=8, show_spinner=False)
def _sample(name: str) -> LoadedImage:
    return sample_image(name)


def image_picker(prefix: str) -> PickedImage | None:
    """Radio (sample / upload), then a sample list or an uploader. Errors are shown here; None means no image."""
    source = st.radio(
        "Image",
        ["sample", "upload"],
        horizontal=True,
        key=f"{prefix}_source",
        format_func={"sample": "Sample", "upload": "Your picture"}.get,
    )
    if source == "sample":
        name = st.selectbox("Sample", list(SAMPLES), key=f"{prefix}_sample")
        try:
            return PickedImage(_sample(name), f"sample:{name}", name)
        except ConvConfigError as exc:
            show_error(exc)
            return None
    uploaded = st.file_uploader(
        "Picture (PNG, JPEG, WebP, GIF, BMP, TIFF)", type=list(UPLOAD_TYPES), key=f"{prefix}_upload"
    )
    if uploaded is None:
        st.info("Upload a picture, or choose a sample above.", icon=":material/upload:")
        return None
    data = uploaded.getvalue()
    try:
        image = _decoded(data, uploaded.name)
    except ConvConfigError as exc:
        show_error(exc)
        return None
    return PickedImage(image, "upload:" + hashlib.blake2b(data, digest_size=16).hexdigest(), uploaded.name)
