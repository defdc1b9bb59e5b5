"""``--dashboard`` is read-only unless asked (issue 15 item 1): a real WSGI call against the app that
``--dashboard`` serves, no browser. Writing methods are refused, foreign ``Host`` headers (DNS
rebinding) are refused, and ``--dashboard-writable`` is the only way to let the dashboard write."""
from __future__ import annotations

import io
import json
import shutil

import optuna
import pytest

from llmhw.report.dashboard import app_for
from llmhw.study.storage import open_storage

PORT = 8080


def request(app, method: str, path: str, host: str | None = f"127.0.0.1:{PORT}", body: bytes = b"") -> tuple[int, bytes]:
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(PORT), "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
    }
    if host is not None:
        environ["HTTP_HOST"] = host
    got: dict = {}

    def start_response(status, headers, exc_info=None):
        got["status"] = int(status.split()[0])

    out = b"".join(app(environ, start_response))
    return got["status"], out


@pytest.fixture
def db(studies, tmp_path):
    copy = tmp_path / "tiny.db"
    shutil.copy(studies / "studies" / "tiny.db", copy)
    return f"sqlite:///{copy}"


def _names(url: str) -> list[str]:
    return [s.study_name for s in optuna.get_all_study_summaries(open_storage(url))]


def test_read_only_dashboard_refuses_every_writing_method(db):
    app = app_for(open_storage(db), port=PORT)
    assert request(app, "GET", "/api/studies")[0] == 200
    for method, path, body in [("DELETE", "/api/studies/1", b""),
                               ("POST", "/api/studies", b'{"study_name": "x", "directions": ["minimize"]}'),
                               ("POST", "/api/studies/1/rename", b'{"study_name": "y"}'),
                               ("PUT", "/api/studies/1/note", b'{"version": 1, "body": "x"}'),
                               ("POST", "/api/trials/1/user-attrs", b'{"user_attrs": {}}'),
                               ("PATCH", "/api/studies/1", b"")]:
        status, out = request(app, method, path, body=body)
        assert status == 405, (method, path, status)
        assert b"--dashboard-writable" in out
    assert _names(db) == ["tiny"]
    assert len(optuna.load_study(study_name="tiny", storage=db).trials) == 60


def test_dashboard_refuses_foreign_host_headers(db):
    app = app_for(open_storage(db), port=PORT)
    for host in ("evil.example:8080", "127.0.0.1.evil.example:8080", f"127.0.0.1:{PORT + 1}", "evil.example",
                 None, "localhost:8080@evil"):
        status, _ = request(app, "GET", "/api/studies", host=host)
        assert status == 403, host
    for host in (f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"[::1]:{PORT}", f"LOCALHOST:{PORT}"):
        assert request(app, "GET", "/api/studies", host=host)[0] == 200, host
    # a rebinding page cannot delete even with the writable flag
    writable = app_for(open_storage(db), port=PORT, writable=True)
    assert request(writable, "DELETE", "/api/studies/1", host="evil.example:8080")[0] == 403
    assert _names(db) == ["tiny"]


def test_writable_dashboard_writes_only_when_asked(db):
    app = app_for(open_storage(db), port=PORT, writable=True)
    assert request(app, "DELETE", "/api/studies/1")[0] == 204
    assert _names(db) == []


def test_dashboard_writable_flag_is_a_cli_flag():
    from llmhw.cli import build_parser
    args = build_parser().parse_args(["--study", "tiny", "--dashboard", "--dashboard-writable"])
    assert args.dashboard_writable is True
    assert build_parser().parse_args(["--study", "tiny", "--dashboard"]).dashboard_writable is False
