"""The shared page frame: header, sidebar convention, and errors shown as messages, never tracebacks."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

TIMEOUT = 30


def header_page() -> None:
    """A page that uses the standard header and puts one control in the sidebar."""
    import streamlit as st

    from cnnviz.ui import page_header

    controls = page_header("Shapes", "How big is the output of a convolution?")
    with controls:
        st.slider("stride", 1, 4, 1)
    st.markdown("body")


def error_page() -> None:
    """A page whose core call raises a ConvConfigError inside the helper, and code after it still runs."""
    import streamlit as st

    from cnnviz.errors import ConvConfigError
    from cnnviz.ui import config_errors_shown, page_header, show_error

    page_header("Errors", "What a wrong setting looks like.")
    with config_errors_shown():
        raise ConvConfigError("stride must be at least 1 (got 0)", "stride")
    show_error(ConvConfigError("kernel_size (width) must be at least 1 (got 0)", "kernel_size"))
    show_error(ZeroDivisionError("division by zero"))
    st.markdown("still running")


def test_page_header_title_why_and_sidebar() -> None:
    at = AppTest.from_function(header_page, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Shapes"]
    assert "How big is the output of a convolution?" in [m.value for m in at.main.markdown]
    assert [s.label for s in at.sidebar.slider] == ["stride"]
    sidebar_text = " ".join([m.value for m in at.sidebar.markdown] + [c.value for c in at.sidebar.caption])
    assert "About" in sidebar_text and "cnnviz" in sidebar_text
    # Controls sit above the About block: the slider is the sidebar's first element (the page list's
    # box stays empty when a page runs on its own, outside the app).
    labels = [node.label for node in at.sidebar if isinstance(getattr(node, "label", None), str)]
    assert labels[:2] == ["stride", "Presentation mode"]


def test_errors_are_messages_not_tracebacks() -> None:
    at = AppTest.from_function(error_page, default_timeout=TIMEOUT).run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert messages[0] == "stride must be at least 1 (got 0)"
    assert messages[1] == "kernel_size (width) must be at least 1 (got 0)"
    assert "ZeroDivisionError" in messages[2] and "division by zero" not in messages[2]
    assert len(messages) == 3
    assert "still running" in [m.value for m in at.markdown]


def test_other_exceptions_are_not_swallowed() -> None:
    def page() -> None:
        from cnnviz.ui import config_errors_shown

        with config_errors_shown():
            raise RuntimeError("a bug, not a setting")

    at = AppTest.from_function(page, default_timeout=TIMEOUT).run()
    assert len(at.exception) == 1
    assert not at.error


def test_sidebar_ends_with_presentation_switch_and_share_link() -> None:
    at = AppTest.from_function(header_page, default_timeout=TIMEOUT).run()
    assert [t.label for t in at.sidebar.toggle] == ["Presentation mode"]
    assert at.sidebar.toggle[0].value is False
    # With every control at its default the link has no query: the page's address as it is.
    assert [c.value for c in at.sidebar.code] == ["?"]
    at.toggle(key="present").set_value(True).run()
    assert [c.value for c in at.sidebar.code] == ["?present=1"]
    assert not at.exception


def test_share_link_sits_in_a_popover_so_first_loads_skip_the_code_highlighter() -> None:
    at = AppTest.from_function(header_page, default_timeout=TIMEOUT).run()
    (share,) = [block for block in at.sidebar.children.values() if block.type == "popover"]
    assert share.proto.popover.label == "Share this view"
    assert [c.value for c in share.code] == ["?"]  # drawn in the browser only when it opens
    assert [c.value for c in at.main.code] == []


def test_first_run_preloads_slow_imports_once_per_process(monkeypatch) -> None:
    import sys
    import threading

    from cnnviz.ui import layout

    monkeypatch.setattr(layout, "_preload", None)
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    imported_in: list[tuple[str, str]] = []
    real = layout.importlib.import_module
    monkeypatch.setattr(
        layout.importlib,
        "import_module",
        lambda name: imported_in.append((name, threading.current_thread().name)) or real(name),
    )
    first = layout.preload(("colorsys", "no_such_module_here"), delay=0.0)  # a failure is logged, not raised
    assert layout.preload(("json",), delay=0.0) is first  # once per process: the later call starts nothing
    first.join(timeout=TIMEOUT)
    assert not first.is_alive() and first.daemon
    assert "colorsys" in sys.modules
    ours = [entry for entry in imported_in if entry[0] in ("colorsys", "no_such_module_here", "json")]
    assert ours == [("colorsys", "cnnviz-preload"), ("no_such_module_here", "cnnviz-preload")]
    assert layout.PRELOADED == ("cnnviz.ui.training_view",) and layout.PRELOAD_DELAY_S > 0


class _Node:
    """An object that can sit in a reference cycle and be watched through a weak reference."""

    def __init__(self) -> None:
        self.other: _Node | None = None


def test_settle_heap_collects_then_freezes_on_a_pages_first_runs_only() -> None:
    import gc
    import uuid
    import weakref

    from cnnviz.ui import layout

    page = f"page-{uuid.uuid4().hex}"  # a page this process has not seen
    a, b = _Node(), _Node()
    a.other, b.other = b, a  # a cycle: only the collector can free it
    dead = weakref.ref(a)
    del a, b
    kept = [_Node() for _ in range(50)]  # alive: these are frozen
    before = gc.get_freeze_count()
    assert layout.settle_heap(page) is True
    assert dead() is None, "the garbage cycle was frozen instead of collected"
    assert gc.get_freeze_count() >= before + len(kept)
    for _ in range(layout.HEAP_SETTLING_RUNS - 1):
        assert layout.settle_heap(page) is True
    frozen = gc.get_freeze_count()
    assert layout.settle_heap(page) is False  # later runs of the page leave the collector alone
    assert layout.settle_heap(page) is False
    assert gc.get_freeze_count() <= frozen  # nothing frozen since (frozen objects may still be freed)
    assert layout.settle_heap(f"other-{page}") is True  # another page still settles on its first run


def test_page_header_settles_the_heap_on_the_pages_first_run() -> None:
    from cnnviz.ui import layout

    AppTest.from_function(header_page, default_timeout=TIMEOUT).run()
    assert layout._heap_runs["Shapes"] >= 1
