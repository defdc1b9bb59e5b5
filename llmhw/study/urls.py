"""Redaction of secrets in storage URLs and in any text that may quote one (issue 15 item 2).

Every place that shows or stores a storage URL — errors, the run header, ``--check``, ``--report``,
``--list``, the dashboard banner, the lock file — passes it through :func:`redact`, and the CLI
passes every error line through it too (a driver's message may quote the URL it was given). This
module imports nothing heavy, so the CLI's error path can use it.

Redacted: the password of ``scheme://user:password@host`` (everything up to the last ``@`` of the
authority, so a raw ``@`` in a password does not leak its tail), and the value of every
``key=value`` whose key names a secret (``password``, ``sslpassword``, ``passwd``, ``pwd``,
``secret``, ``token``, ``api_key``/``apikey``, ``credential(s)``, ``auth``) in a query string or a
libpq-style DSN. The user name, host, port, database and other query values stay readable.
"""
from __future__ import annotations

import re

MASK = "***"
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s?#]*):(?P<pw>[^\s/?#]*)@")
_SECRET_KEY = r"[A-Za-z0-9_.\-]*(?:pass(?:word|wd)?|pwd|secret|token|api_?key|credentials?|auth)[A-Za-z0-9_.\-]*"
_KEY_VALUE = re.compile(rf"(?i)(?P<key>(?:(?<=[?&;\s'\"(,])|^){_SECRET_KEY})(?P<sep>\s*=\s*)(?P<value>[^&;\s'\"#,)]+)")


def redact(text: str) -> str:
    """``text`` with every password and secret query value replaced by ``***``."""
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", str(text))
    return _KEY_VALUE.sub(lambda m: f"{m['key']}{m['sep']}{MASK}", text)
