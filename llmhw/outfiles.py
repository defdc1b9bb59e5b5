"""Writing result files safely (issue 15 item 9): CSVs, Parquet, HTML and PNG under --outputs / --export.

- :func:`output_dir` checks a directory up front (before a search spends its budget): it is created
  if missing, and a file in its place is one clear line;
- :func:`staged` writes a set of files into a scratch directory beside the target and then moves
  each into place with ``os.replace`` — a full disk leaves no 0-byte or truncated file behind, and a
  symbolic link at a target name is replaced, never written through; without ``force`` an existing
  file is refused (``--export``), with the list of what would be overwritten;
- a write failure is an :class:`OutputError` (exit 1) that names the file and the OS reason, and
  says that the study itself is not affected (the caller adds how many trials it holds).
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from llmhw.errors import LlmhwError, UsageError

_REASONS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
            errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
            errno.EPERM: "permission denied"}


class OutputError(LlmhwError):
    """A result file could not be written; the study's storage is not affected."""

    exit_code = 1


def reason(exc: OSError) -> str:
    return _REASONS.get(exc.errno, exc.strerror or str(exc))


def output_dir(path: Path, flag: str = "--outputs") -> Path:
    """``path`` as a usable directory (created if missing), or one line saying why it is not."""
    for p in [path, *path.parents]:
        if p.exists() or p.is_symlink():
            if not p.is_dir():
                raise UsageError(f"{flag}: {p} is not a directory (a file is in the way); remove it or "
                                 f"choose another {flag}")
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{flag}: cannot create {path}: {reason(exc)}") from None
    return path


@contextmanager
def staged(outdir: Path, force: bool = True, flag: str = "--outputs", study_note: str = "") -> Iterator[Path]:
    """A scratch directory to write into; on success its files replace those of ``outdir``."""
    output_dir(outdir, flag)
    note = f"; {study_note}" if study_note else ""
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".llmhw-", dir=outdir))
    except OSError as exc:
        raise OutputError(f"{flag}: cannot write in {outdir}: {reason(exc)}{note}") from None
    try:
        try:
            yield tmp
        except OSError as exc:
            where = exc.filename and Path(exc.filename).name
            raise OutputError(f"{flag}: cannot write {outdir / where if where else outdir}: {reason(exc)}"
                              f"{note}") from None
        names = sorted(p.name for p in tmp.iterdir())
        taken = [outdir / n for n in names if (outdir / n).exists() or (outdir / n).is_symlink()]
        if taken and not force:
            shown = ", ".join(map(str, taken[:4])) + (f" and {len(taken) - 4} more" if len(taken) > 4 else "")
            raise UsageError(f"{flag} {outdir}: would overwrite {shown}; use --force to replace them "
                             "(or choose another directory)")
        for n in names:
            target = outdir / n
            if target.is_dir() and not target.is_symlink():
                raise UsageError(f"{flag}: {target} is a directory; remove it or choose another directory")
            try:
                os.replace(tmp / n, target)   # replaces a symlink itself, never its target
            except OSError as exc:
                raise OutputError(f"{flag}: cannot write {target}: {reason(exc)}{note}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
