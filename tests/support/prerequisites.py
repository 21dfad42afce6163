"""Test prerequisites that ``make test`` installs: missing on a developer's machine, a
test skips and says what to install; missing under CI (``CI=true``), it fails, since a
skip there would pass the suite without the test ever running."""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest


def under_ci() -> bool:
    return os.environ.get("CI") == "true"


def missing(what: str) -> NoReturn:
    """Skip for want of ``what`` (a package, a program, its data), or fail under CI."""
    if under_ci():
        pytest.fail(f"a test prerequisite is missing under CI: {what}", pytrace=False)
    pytest.skip(f"not installed: {what}")


def require_module(name: str, what: str) -> ModuleType:
    """``pytest.importorskip`` that fails under CI instead of skipping. At module level
    it skips or fails the whole module, as ``importorskip`` does."""
    try:
        return importlib.import_module(name)
    except ImportError:
        if under_ci():
            pytest.fail(f"a test prerequisite is missing under CI: {name} ({what})", pytrace=False)
        pytest.skip(f"not installed: {name} ({what})", allow_module_level=True)
