"""`import cnnviz` stays a plain computing package: no web UI or plotting library comes with it."""

from __future__ import annotations

import json
import subprocess
import sys

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
