"""cnnviz home page: what the app is for, and a link to every page found in `pages/`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from cnnviz import LESSONS
from cnnviz.ui import PAGE_ICON, discover_pages, page_header, presentation_query

ROOT = Path(__file__).resolve().parent
LESSON_ICON = ":material/school:"

page_header(
    "cnnviz",
    "See, compute and explain convolutions: every shape, every dot product, every number on screen.",
    root=ROOT,
)

what, who = st.columns([3, 2], gap="large")
with what:
    st.subheader("What it is for", anchor=False)
    st.markdown(
        """
- **Shapes**: the output size of a convolution, a pooling layer or a transposed convolution,
  with the formula filled in.
- **Every dot product**: the kernel placed on the input, one output cell at a time,
  with each multiply and add written out.
- **Pooling**: max and average pooling, window by window.
- **Transposed convolution**: how each input cell scatters a copy of the kernel, and why the output grows.
- **Receptive fields**: which input cells an output cell depends on, layer after layer.
- **Live training**: a small network learning, its filters and loss changing step by step.
"""
    )
with who:
    st.subheader("Who it is for", anchor=False)
    st.markdown(
        """
**Instructors** projecting it in front of a class: large type, high contrast,
and every number explained where it appears.

**Students** replaying a lecture: change the sizes, the stride or the padding,
and check your own calculations.
"""
    )

keep_mode = presentation_query()
lessons = [lesson for lesson in LESSONS if (ROOT / lesson.page).is_file()]
if lessons:
    st.subheader("Lessons", anchor=False)
    st.caption("Each link opens a page on settings that show one lecture topic; change anything from there.")
    per_row = 3
    with st.container(key="cnnviz-lessons"):
        for start in range(0, len(lessons), per_row):
            row = st.columns(per_row, gap="medium")
            for column, lesson in zip(row, lessons[start : start + per_row], strict=False):
                with column.container(border=True):
                    query = {**lesson.query, **keep_mode}
                    st.page_link(
                        lesson.page, label=lesson.title, icon=LESSON_ICON, query_params=query or None
                    )
                    st.caption(lesson.goal)

pages = discover_pages(ROOT)
if pages:
    st.subheader("Pages", anchor=False)
    per_row = 3
    with st.container(key="cnnviz-pages"):
        for start in range(0, len(pages), per_row):
            row = st.columns(per_row, gap="medium")
            for column, page in zip(row, pages[start : start + per_row], strict=False):
                with column.container(border=True):
                    st.page_link(
                        page.rel_path,
                        label=page.title,
                        icon=page.icon or PAGE_ICON,
                        query_params=keep_mode or None,
                    )
                    if page.summary:
                        st.caption(page.summary)

st.caption("Every result in the app comes from the `cnnviz` Python package: `import cnnviz`.")
