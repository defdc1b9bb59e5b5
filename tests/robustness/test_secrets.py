"""Passwords in storage URLs are never printed or stored in clear (issue 15 item 2): errors, the run
header, --check, --report, --list, --dashboard and the lock file all go through one redaction
(``llmhw.study.urls.redact``); ``--list`` on an unreachable server exits non-zero."""
from __future__ import annotations

import json
import sys

import pytest

from llmhw.study.urls import redact

from .conftest import search_cli

SECRET_URL = "postgresql://alice:s3cret@127.0.0.1:1/db?sslpassword=topsecret&sslmode=disable"
SECRETS = ("s3cret", "topsecret")


def test_redact_hides_passwords_and_secret_query_values_only():
    out = redact(f"cannot open {SECRET_URL} now")
    assert not any(s in out for s in SECRETS), out
    assert "alice" in out and "127.0.0.1:1/db" in out and "sslmode=disable" in out
    assert redact("mysql+pymysql://u:p@ss@h/db") == "mysql+pymysql://u:***@h/db"
    assert redact("host=h password=xyz dbname=d") == "host=h password=*** dbname=d"
    assert redact("postgresql://h/db?password=a&token=b&user=u") == "postgresql://h/db?password=***&token=***&user=u"
    assert redact("sqlite:///studies/s.db") == "sqlite:///studies/s.db"
    assert redact("journal:studies/a:b@c.journal") == "journal:studies/a:b@c.journal"


@pytest.mark.parametrize("args", [
    ["--check", "--hw", "inputs/hardware/config/tpuv4.yaml", "--model", "gpt3", "--trials", "10", "--study", "s"],
    ["--hw", "inputs/hardware/config/tpuv4.yaml", "--model", "gpt3", "--trials", "10", "--study", "s", "--no-progress"],
    ["--list"],
    ["--report", "--study", "s"],
    ["--export", "x", "--study", "s"],
    ["--dashboard", "--study", "s", "--port", "0"],
], ids=["check", "search", "list", "report", "export", "dashboard"])
def test_no_password_on_the_terminal(workdir, args):
    r = search_cli([*args, "--storage", SECRET_URL], workdir)
    text = r.stdout + r.stderr
    assert not any(s in text for s in SECRETS), text
    assert "alice:***@127.0.0.1" in text, text
    if args[0] != "--check":
        assert r.returncode != 0, text
        assert "Traceback" not in text and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_lock_file_stores_no_password(workdir, monkeypatch):
    from llmhw.study.lock import StudyLock
    monkeypatch.setattr(sys, "argv", ["search.py", "--study", "s", "--note", SECRET_URL])
    lock = StudyLock(f"sqlite:///{workdir / 'studies' / 's.db'}", "s").acquire()
    try:
        text = lock.path.read_text()
    finally:
        lock.release()
    assert not any(s in text for s in SECRETS), text
    assert "alice:***@" in " ".join(json.loads(text)["argv"])
