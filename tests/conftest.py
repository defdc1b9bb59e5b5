"""Shared test helpers: where the repository and the reference material live.

The reference material (``<repo>/../shared/reference``: seed inputs, cases, expected tables) is
not part of the repository; tests that need it use the ``reference_dir`` fixture, which skips
them with a clear reason when it is absent.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO_ROOT.parent / "shared" / "reference"

# `pytest` (unlike `python -m pytest`) does not put the working directory on sys.path.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def reference_available() -> bool:
    return REFERENCE_DIR.is_dir()


@pytest.fixture
def reference_dir() -> Path:
    """``<repo>/../shared/reference``; skips the test if it is not there."""
    if not reference_available():
        pytest.skip(f"reference material not found at {REFERENCE_DIR}")
    return REFERENCE_DIR
