"""`import cnnviz` stays a plain computing package: no web UI or plotting library comes with it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

PROBE = """
import json, sys
import cnnviz
print(json.dumps({
    "file": cnnviz.__file__,
    "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("streamlit", "plotly")),
}))
"""


def test_import_cnnviz_loads_neither_streamlit_nor_plotly() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["file"].startswith(str(REPO_ROOT / "cnnviz")), report["file"]
    assert report["loaded"] == []


def test_home_page_imports_stay_light() -> None:
    """What app.py imports (cnnviz.ui) never loads torch, so the home page opens fast.

    (Plotly is not checked here: importing streamlit loads it by itself.)
    """
    probe = (
        "import json, sys\n"
        "import cnnviz.ui\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'torch')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
    app_source = (REPO_ROOT / "app.py").read_text(encoding="utf-8")
    assert "torch" not in app_source


def test_the_library_declares_what_import_cnnviz_loads_and_the_app_pins_satisfy_it() -> None:
    """pyproject.toml gives the library lower bounds for exactly the libraries that the modules `import
    cnnviz` loads import themselves; the app's exact pins in requirements.txt satisfy them."""
    import ast
    import tomllib

    from packaging.requirements import Requirement

    probe = (
        "import json, sys\nimport cnnviz\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('cnnviz'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    direct = set()
    for name in loaded:
        path = REPO_ROOT.joinpath(*name.split("."))
        source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        for node in ast.parse(source.read_text(encoding="utf-8")).body:  # module level: what loads at import
            if isinstance(node, ast.Import):
                direct.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                direct.add(node.module.split(".")[0])
    third_party = direct - set(sys.stdlib_module_names) - {"cnnviz", "__future__"}
    distribution = {"PIL": "pillow", "cv2": "opencv-python-headless"}
    needed = {distribution.get(m, m) for m in third_party}
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {Requirement(r).name.lower(): Requirement(r) for r in project["dependencies"]}
    assert needed == set(declared), (needed, set(declared))
    assert all(r.specifier and all(s.operator == ">=" for s in r.specifier) for r in declared.values())
    pins = {}
    for line in (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pin = Requirement(line)
            pins[pin.name.lower()] = next(iter(pin.specifier)).version
    for name, requirement in declared.items():
        assert requirement.specifier.contains(pins[name]), (name, pins.get(name), requirement)


def test_plotly_writes_figures_with_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app pins orjson so that Plotly's JSON (every chart, every rerun) skips the json module's
    dump, reload and dump again: ~20x faster for the image page's crop panels."""
    import orjson
    import plotly.graph_objects as go
    import plotly.io as pio

    calls = []
    dumps = orjson.dumps
    monkeypatch.setattr(orjson, "dumps", lambda *a, **k: calls.append(1) or dumps(*a, **k))
    text = pio.to_json(go.Figure(go.Scatter(y=[1, 2])), validate=False)
    assert calls and json.loads(text)["data"][0]["y"]
    pins = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8")
    assert "\norjson==" in pins
