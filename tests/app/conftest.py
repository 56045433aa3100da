"""Fixtures for the AppTest suites of the pages; the helpers they share are in tests/app/helpers.py.

A test module names its page once (`PAGE = page_path("1_Convolution_explorer.py")`) and takes `at`: that
page run once in a fresh session, without an exception.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.helpers import run


@pytest.fixture
def at(request: pytest.FixtureRequest) -> AppTest:
    """The test module's PAGE, run once in a fresh session (it must not raise)."""
    page = getattr(request.module, "PAGE", None)
    if page is None:
        raise pytest.UsageError(f"{request.module.__name__} uses the `at` fixture but names no PAGE")
    return run(page)
