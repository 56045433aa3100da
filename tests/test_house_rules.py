"""The shape of the house: the package's folders show its layers, and nothing reaches across them.

- every module of `cnnviz/` lives in a subpackage, except `__init__.py` and `errors.py`;
- no import cycle between cnnviz's modules;
- `cnnviz/conv/` reaches nothing else in cnnviz but `cnnviz.errors`; plots never reach ui; only
  `cnnviz/ui/` imports streamlit;
- a page (and the home page) imports only the public API `cnnviz`, `cnnviz.ui` and `cnnviz.plots`;
- nothing in the app imports Streamlit's private modules;
- text from a variable reaches a message or markdown escaped, unless it is listed as the app's own words;
- a figure cached with `st.cache_data` is a JSON-ready dict, never a go.Figure (Plotly revalidates it on
  every hit).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "cnnviz"
PAGES = sorted((REPO_ROOT / "pages").glob("*.py")) + [REPO_ROOT / "app.py"]
# Streamlit's documented modules; anything else under streamlit.* is internal and changes without notice.
PUBLIC_STREAMLIT = {"streamlit", "streamlit.errors", "streamlit.components.v1", "streamlit.components.v2"}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, *, typing_too: bool = False) -> set[str]:
    """Modules `path` imports (anywhere in the file; `if TYPE_CHECKING:` blocks only with typing_too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    if not typing_too:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped.update(id(n) for n in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def cnnviz_imports(path: Path) -> set[str]:
    return {m for m in imports(path) if m in MODULES and m != module_name(path)}


def test_every_module_lives_in_a_subpackage() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "errors.py"))
    assert loose == []


def test_there_is_no_import_cycle() -> None:
    graph = {name: cnnviz_imports(path) for name, path in MODULES.items()}
    # A package imports its modules to re-export them; a module importing its own package's names would
    # be a cycle, so edges into a package count, edges from a package to its own modules do not.
    for name in graph:
        graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, trail: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend(trail[trail.index(nxt) :] + [node, nxt] if nxt in trail else [node, nxt])
                return True
            if nxt not in state and visit(nxt, trail + [node]):
                return True
        state[node] = 2
        return False

    assert not any(visit(n, []) for n in sorted(graph) if n not in state), " -> ".join(cycle)


@pytest.mark.parametrize(
    ("layer", "may_reach"),
    [
        ("cnnviz.conv", ("cnnviz.conv", "cnnviz.errors")),
        ("cnnviz.topics", ("cnnviz.conv", "cnnviz.topics", "cnnviz.errors", "cnnviz.images")),
        ("cnnviz.images", ("cnnviz.conv", "cnnviz.images", "cnnviz.errors")),
        ("cnnviz.network", ("cnnviz.conv", "cnnviz.network", "cnnviz.errors")),
        (
            "cnnviz.plots",
            ("cnnviz.conv", "cnnviz.topics", "cnnviz.network", "cnnviz.training", "cnnviz.plots"),
        ),
    ],
)
def test_each_layer_reaches_only_the_layers_below_it(layer: str, may_reach: tuple[str, ...]) -> None:
    crossings = {
        name: sorted(t for t in cnnviz_imports(path) if not t.startswith(may_reach) and t != "cnnviz")
        for name, path in MODULES.items()
        if name == layer or name.startswith(layer + ".")
    }
    assert {k: v for k, v in crossings.items() if v} == {}


def test_only_the_ui_package_imports_streamlit() -> None:
    outside = sorted(
        name
        for name, path in MODULES.items()
        if not name.startswith("cnnviz.ui") and any(m.split(".")[0] == "streamlit" for m in imports(path))
    )
    assert outside == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_page_imports_only_the_public_api_the_ui_and_the_plots(page: Path) -> None:
    """Besides those three, a page may import one module of its own cached views (`cnnviz.ui.*_views`)."""
    reached = sorted(m for m in imports(page) if m.split(".")[0] == "cnnviz" and m in MODULES)
    others = [m for m in reached if m not in ("cnnviz", "cnnviz.ui", "cnnviz.plots")]
    views = [m for m in others if re.fullmatch(r"cnnviz\.ui\.[a-z]+_views", m)]
    assert len(views) <= 1 and [m for m in others if m not in views] == []


@pytest.mark.parametrize(
    "path",
    [*PAGES, *sorted((PACKAGE / "ui").glob("*.py"))],
    ids=lambda p: p.relative_to(REPO_ROOT).as_posix(),
)
def test_the_app_uses_only_streamlits_public_modules(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    modules = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue  # a type named in annotations only: nothing is imported at run time
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(a.name for a in node.names)
    private = sorted(m for m in modules if m.split(".")[0] == "streamlit" and m not in PUBLIC_STREAMLIT)
    assert private == []


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff_is_quiet(command: list[str]) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


# --- Text reaching Markdown: what a visitor typed, linked or uploaded goes through escape_markdown.

MESSAGE_CALLS = {"error", "warning", "info", "success", "caption", "markdown", "toast"}
ESCAPES = {"escape_markdown", "plain", "show_error", "show_warning", "show_problem"}
# Message texts passed as a variable that were read and hold only the app's own words and numbers
# (file, source of the argument). Anything new here must be checked for visitor text first.
FIXED_TEXT = {
    ("cnnviz/ui/grids.py", "caption"),
    ("cnnviz/ui/image_picker.py", "UPLOAD_NOTE"),
    ("cnnviz/ui/layout.py", "why"),
    ("cnnviz/ui/layout.py", "ABOUT"),
    ("cnnviz/ui/training_inspect.py", "caption"),
    ("cnnviz/ui/training_view.py", "DATASETS[dataset].description"),
    ("cnnviz/ui/training_view.py", "MODEL_SPECS[dataset][model].description"),
    ("cnnviz/ui/training_view.py", "status_text(state, capacity)"),
    ("cnnviz/ui/training_view.py", "status_text(None)"),
    ("cnnviz/ui/training_view.py", "note"),  # one of _NOT_NOW's sentences
    ("cnnviz/ui/sections.py", "note"),  # a size formula's notes: its numbers in fixed sentences
    ("cnnviz/ui/sections.py", "'\\n\\n'.join(captions)"),  # the same notes, one caption for the axes
    ("cnnviz/ui/url_state.py", "text"),  # built from escaped parts and a code span
    ("pages/1_Convolution_explorer.py", "note"),
    ("pages/2_Convolution_1D.py", "note"),
    ("pages/4_Image_kernels.py", "note"),  # load_image's notes: modes, sizes, counts
    ("pages/4_Image_kernels.py", "shown['note']"),
    ("pages/4_Image_kernels.py", "kernel.description"),
    ("pages/4_Image_kernels.py", "label"),
    ("pages/4_Image_kernels.py", "line"),
    ("pages/5_Pooling.py", "note"),
    ("pages/5_Pooling.py", "shift_summary(inv, shift)"),  # counts and a shift in fixed sentences
    ("pages/9_Transposed_convolution.py", "note"),
    ("app.py", "lesson.goal"),
    ("app.py", "page.summary"),
}


def _message_arguments(path: Path) -> list[str]:
    """The source of every variable (not literal, f-string or sum) passed as a message's text, unescaped."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        called = {func.attr} if isinstance(func, ast.Attribute) else set()
        if isinstance(func, ast.IfExp):  # (st.success if ok else st.error)(text)
            called = {getattr(f, "attr", "") for f in (func.body, func.orelse)}
        if not called & MESSAGE_CALLS:
            continue
        text = node.args[0]
        if isinstance(text, (ast.Constant, ast.JoinedStr, ast.BinOp, ast.IfExp)):
            continue
        if isinstance(text, ast.Call) and getattr(text.func, "attr", getattr(text.func, "id", "")) in ESCAPES:
            continue
        found.append(ast.unparse(text))
    return found


def test_message_text_from_variables_is_escaped_or_known_to_be_the_apps_own() -> None:
    """`st.error(state.message)` once showed a loaded file's text as live Markdown."""
    unknown = []
    for path in sorted((PACKAGE / "ui").glob("*.py")) + PAGES:
        relative = path.relative_to(REPO_ROOT).as_posix()
        if relative == "cnnviz/ui/messages.py":
            continue
        unknown += [
            (relative, text) for text in _message_arguments(path) if (relative, text) not in FIXED_TEXT
        ]
    assert not unknown, (
        f"pass these through escape_markdown (or check and list them in FIXED_TEXT): {unknown}"
    )


def _cached_figures(path: Path) -> list[str]:
    """Functions of `path` that `st.cache_data` caches and that return a Plotly figure object: a figure
    function wrapped as it is (`st.cache_data(...)(pool_figure)`), or a cached `def` annotated `-> go.Figure`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Call) and node.args:
            wrapper, wrapped = ast.unparse(node.func.func), ast.unparse(node.args[0])
            if wrapper.endswith("cache_data") and wrapped.endswith("_figure"):
                found.append(wrapped)
        elif isinstance(node, ast.FunctionDef) and node.returns is not None:
            cached = any("cache_data" in ast.unparse(d) for d in node.decorator_list)
            if cached and ast.unparse(node.returns) in ("go.Figure", "Figure"):
                found.append(node.name)
    return found


def test_cached_figures_are_json_ready_dicts() -> None:
    """`st.cache_data` pickles what it caches: a go.Figure comes back rebuilt and revalidated by Plotly on
    every hit, which was most of a control change on the pooling page. Cache `fig.to_dict()` (or a spec)
    and draw it as `PrebuiltFigure`."""
    found = [
        (path.relative_to(REPO_ROOT).as_posix(), name)
        for path in [*PAGES, *sorted((PACKAGE / "ui").glob("*.py"))]
        for name in _cached_figures(path)
    ]
    assert found == []
