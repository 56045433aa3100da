"""Upload a picture or pick a sample: one widget group for every page that works on photos.

The choice (sample or upload, and which sample) travels in the page's link; an uploaded file cannot, so
`upload_link_note` tells the reader when the view they would share was made from one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:  # pragma: no cover
    from streamlit.delta_generator import DeltaGenerator

from cnnviz.errors import ConvConfigError
from cnnviz.images.loading import SAMPLES, UPLOAD_TYPES, LoadedImage, load_image, sample_image
from cnnviz.ui.layout import show_error
from cnnviz.ui.shared import shared
from cnnviz.ui.url_state import url

__all__ = ["UPLOAD_NOTE", "PickedImage", "image_picker", "upload_link_note"]

UPLOAD_NOTE = (
    "This view is made from your uploaded picture, which a link cannot carry: whoever opens the link "
    "below gets every other setting and is asked to upload a picture."
)


@dataclass(frozen=True)
class PickedImage:
    """The chosen picture, a short key that identifies it (for caches) and a label to show."""

    image: LoadedImage
    key: str
    label: str

    @property
    def uploaded(self) -> bool:
        """Whether the picture came from an upload (so a link cannot reproduce it)."""
        return self.key.startswith("upload:")


@st.cache_resource(max_entries=4, show_spinner="Decoding the picture…")
def _decoded(data: bytes, name: str) -> LoadedImage:
    """Decode once per file content (cache keyed on the bytes' hash), shared read-only (`cnnviz.ui.shared`)."""
    return shared(load_image(data, name))


@st.cache_resource(max_entries=8, show_spinner=False)
def _sample(name: str) -> LoadedImage:
    return shared(sample_image(name))


def image_picker(prefix: str) -> PickedImage | None:
    """Radio (sample / upload), then a sample list or an uploader. Errors are shown here; None means no image."""
    source = url.radio(
        "Image",
        ["sample", "upload"],
        horizontal=True,
        key=f"{prefix}_source",
        format_func={"sample": "Sample", "upload": "Your picture"}.get,
    )
    if source == "sample":
        name = url.selectbox("Sample", list(SAMPLES), key=f"{prefix}_sample")
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


def upload_link_note(picked: PickedImage | None, where: DeltaGenerator) -> None:
    """Say in `where` (the sidebar's controls, just above the share link) that an upload is not in the link."""
    if picked is not None and picked.uploaded:
        where.info(UPLOAD_NOTE, icon=":material/link_off:")
