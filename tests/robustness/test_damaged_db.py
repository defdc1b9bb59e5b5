"""A damaged SQLite study (issue 15 item 7): SQLite's own check runs before anything is written, and
--report, --export, --dashboard and a resume each end with one line naming the damage and the
recovery, with the file left as it was."""
from __future__ import annotations

import hashlib
import random

import pytest

from .conftest import search_cli, small_search


def _damage(db) -> None:
    data = bytearray(db.read_bytes())
    rnd = random.Random(1)
    for off in range(4096 * 4, len(data) - 4096, 4096 * 7):
        data[off + 100:off + 700] = bytes(rnd.randrange(256) for _ in range(600))
    db.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    from .conftest import INPUTS
    root = tmp_path_factory.mktemp("damaged")
    (root / "inputs").symlink_to(INPUTS)
    r = search_cli(small_search(trials=200, study="d"), root, timeout=600)
    assert r.returncode == 0, r.stderr
    _damage(root / "studies" / "d.db")
    return root


@pytest.mark.parametrize("args", [
    small_search(trials=300, study="d"),
    ["--report", "--study", "d"],
    ["--export", "x", "--study", "d"],
    ["--dashboard", "--study", "d", "--port", "0"],
], ids=["resume", "report", "export", "dashboard"])
def test_damaged_database_one_line_and_untouched(damaged, args):
    db = damaged / "studies" / "d.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    r = search_cli(args, damaged, timeout=600)
    assert r.returncode != 0
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "damaged" in err and "studies/d.db" in err and ".recover" in err, err
    assert "intact" not in err
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert "resumed" not in r.stdout


def test_list_shows_the_damaged_file_and_exits_non_zero(damaged):
    r = search_cli(["--list"], damaged, timeout=600)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "damaged" in r.stdout
