"""A SQLite URL with a query string (issue 15 item 8) is refused with one line; no file named
``q.db?mode=ro`` (or anything else) is created."""
from __future__ import annotations

import pytest

from .conftest import search_cli, small_search


@pytest.mark.parametrize("url", ["sqlite:///q.db?mode=ro&uri=true", "sqlite:///q.db?timeout=5"])
@pytest.mark.parametrize("check", [False, True], ids=["search", "check"])
def test_sqlite_query_string_is_refused(workdir, url, check):
    r = search_cli([*(["--check"] if check else []), *small_search(trials=10), "--storage", url], workdir)
    assert r.returncode == 2, r.stdout + r.stderr
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "--storage" in err and "query" in err, err
    assert sorted(p.name for p in workdir.iterdir()) == ["inputs", "spaces"]
