"""The README stays true: its test command is what CI runs, its Python example runs, its files exist."""

from __future__ import annotations

import doctest
import os
import re

from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"
CI_RUN = REPO_ROOT / ".ci" / "run"


def readme_test_command() -> str:
    """The one command in the README's "Test it" section's bash block."""
    section = README.read_text(encoding="utf-8").split("## Test it", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, blocks
    lines = [line for line in blocks[0].splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    command = readme_test_command()
    script = CI_RUN.read_text(encoding="utf-8")
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script
    assert os.access(CI_RUN, os.X_OK)
    body = [line for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert body[-1] == command
    assert "|| true" not in script and "--exitfirst" not in command
    for step in ("chromium", "python3 -m venv .venv", ".venv/bin/pip install -r requirements-dev.txt",
                 ".venv/bin/python -m pytest"):  # fmt: skip
        assert step in command


def readme_run_command() -> str:
    """The one command in the README's "Run it" section's bash block."""
    section = README.read_text(encoding="utf-8").split("## Run it", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, blocks
    return blocks[0].strip()


def test_the_commands_work_with_debians_own_python() -> None:
    """Debian's python3 has no `python` and refuses pip outside a virtual environment: both commands make one
    and call its programs by path, so they work with PATH=/usr/bin:/bin and nothing activated."""
    for command in (readme_run_command(), readme_test_command()):
        steps = [step.strip() for step in command.split("&&")]
        assert "python3 -m venv .venv" in steps and "python3-venv" in command, command
        after = steps[steps.index("python3 -m venv .venv") + 1 :]
        assert after and all(step.startswith(".venv/bin/") for step in after), after
        assert not any(step.split()[0] in ("python", "pip", "streamlit") for step in steps), steps


def test_readme_python_example_runs() -> None:
    blocks = re.findall(r"```pycon\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for number, block in enumerate(blocks):
        test = doctest.DocTestParser().get_doctest(block, {}, f"README.md block {number}", str(README), 0)
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 10
    assert result.failed == 0


def test_readme_points_only_at_what_exists() -> None:
    text = README.read_text(encoding="utf-8")
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (REPO_ROOT / image).is_file(), image
    tour = text.split("## A tour of the pages", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^- \*\*[^*]+\*\* \(`([^`]+)`\)", tour, flags=re.M)
    assert listed and listed[0] == "app.py"
    for path in listed:
        assert (REPO_ROOT / path).is_file(), f"the tour lists {path}, which does not exist"
    for path in re.findall(r"^\| `([^`]+)`", text, flags=re.M):
        where = REPO_ROOT / path
        # A folder counts only with a file in it: git does not keep empty folders.
        assert where.is_file() or any(p.is_file() for p in where.rglob("*")), f"{path} is in the layout table"
    assert not re.search(r"(?<![\w.])/(?:work|root|home|tmp)/", text)
