"""Atomic file writes: a crash or a full disk never leaves a half-written file behind.

Files and folders get the user's default modes (the umask), not the 0600 / 0700 of temporary files,
so a shared course folder can read them. A folder written by :func:`atomic_dir` carries a manifest
(:data:`MARKER`) with the SHA-256 of every file it was saved with: an existing folder without it holds
someone else's files and is never replaced, and :func:`verify_folder` finds a corrupt or truncated file
before a loader trips over it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


MARKER = ".lessonlib-folder"
"""The file that marks a folder as written by lessonlib (and so replaceable by it)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _default_mode(path: Path, directory: bool) -> None:
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (manifests here, model checksums in ``lessonlib.core.hub``)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_folder(path: str | os.PathLike) -> None:
    """Check every file a lessonlib folder was saved with against its manifest; a one-line error naming
    the first file that is missing or changed. A folder without a manifest (not saved by lessonlib) passes."""
    path = Path(path)
    if not is_lessonlib_folder(path):
        return
    try:
        files = json.loads((path / MARKER).read_text()).get("files", {})
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path / MARKER}: unreadable manifest ({exc})") from None
    for name, digest in files.items():
        target = path / name
        if not target.is_file():
            raise ValueError(f"{target}: missing (the folder was saved with it)")
        if sha256_file(target) != digest:
            raise ValueError(f"{target}: corrupt or changed since it was saved (SHA-256 does not match); save it again")


def is_lessonlib_folder(path: str | os.PathLike) -> bool:
    """True if ``path`` is a folder that :func:`atomic_dir` wrote (it holds :data:`MARKER`)."""
    return (Path(path) / MARKER).is_file()


def check_replaceable(path: str | os.PathLike, overwrite: bool = True) -> None:
    """Raise a one-line error unless ``path`` may be (re)written as a lessonlib folder.

    Allowed: a missing path, an empty folder, or (with ``overwrite``) a folder lessonlib wrote.
    Refused: a file, a folder holding files lessonlib did not write, a parent that is not writable.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} is a file, not a folder")
    if path.is_dir() and any(path.iterdir()):
        if not is_lessonlib_folder(path):
            raise FileExistsError(f"{path} already holds files that lessonlib did not write; "
                                  "choose an empty or new folder (nothing was changed)")
        if not overwrite:
            raise FileExistsError(f"{path} already holds a lessonlib folder; pass --overwrite to replace it")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write in {parent}")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only if the block succeeds.

    >>> with atomic_write("run.trec") as f:
    ...     f.write("q1 Q0 d1 1 0.5 bm25\\n")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    _default_mode(Path(tmp), directory=False)
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def copy_file(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Copy ``source`` to ``target`` through :func:`atomic_write` (no half file, the user's umask)."""
    target = Path(target)
    with atomic_write(target, "wb") as handle:
        handle.write(Path(source).read_bytes())
    return target


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it replaces ``path`` only if the block succeeds.

    Used for saved models, checkpoints and unpacked downloads: a killed save never leaves a folder
    that half-loads. The new folder carries :data:`MARKER`. An existing ``path`` is replaced only if
    it is empty or lessonlib wrote it (:func:`check_replaceable`): someone else's files are never deleted.
    """
    path = Path(path)
    check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    _default_mode(tmp, directory=True)
    try:
        yield tmp
        files = {p.relative_to(tmp).as_posix(): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        with atomic_write(tmp / MARKER) as handle:
            json.dump({"written_by": "lessonlib", "files": files}, handle, indent=1)
        if path.exists():
            check_replaceable(path)  # again: the folder may have changed while the block ran
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "previous")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
