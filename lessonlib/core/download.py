"""Safe downloads: stream to a temporary file, verify the checksum, only then move into place.

A killed, truncated or corrupted download never leaves a file at the destination; a zip archive
is extracted only after its checksum is verified, and only if none of its members would land
outside the target folder (absolute paths, ``..``, links), the "zip slip" attack.

>>> path = download("https://example.org/data.zip", Path("data.zip"), md5="...")
>>> folder = fetch_zip("https://example.org/data.zip", Path("~/.cache/x/data"), md5="...")
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from lessonlib.core.io import atomic_dir

CHUNK = 1 << 16


class ChecksumError(ValueError):
    """The downloaded bytes do not match the published checksum."""


def download(
    url: str,
    dest: str | os.PathLike,
    md5: str | None = None,
    sha256: str | None = None,
    desc: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Fetch ``url`` (http, https or file) to ``dest``, checking its size and checksum.

    The bytes stream into a temporary file beside ``dest``; a short read (fewer bytes than the
    server's Content-Length), a checksum mismatch or any error deletes it, so ``dest`` either holds
    the complete, verified file or is untouched.
    """
    from tqdm.auto import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    hashes = {name: hashlib.new(name) for name, want in (("md5", md5), ("sha256", sha256)) if want}
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length") if hasattr(response, "headers") else None
            expected = int(length) if length and length.isdigit() else None
            received = 0
            with tqdm(total=expected, unit="B", unit_scale=True, desc=desc or dest.name, disable=None) as bar:
                while True:
                    chunk = response.read(CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    for h in hashes.values():
                        h.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            if expected is not None and received != expected:
                raise OSError(f"download of {url} truncated: got {received:,} of {expected:,} bytes")
            out.flush()
            os.fsync(out.fileno())
        for name, want in (("md5", md5), ("sha256", sha256)):
            if want and hashes[name].hexdigest() != want.lower():
                raise ChecksumError(f"checksum mismatch for {url}: {name} {hashes[name].hexdigest()}, expected {want}")
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return dest


def _safe_member(info: zipfile.ZipInfo) -> PurePosixPath:
    """The member's relative path, or ValueError when it would escape the target folder."""
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or path.is_absolute():
        raise ValueError(f"unsafe zip member {info.filename!r}: absolute path")
    if ".." in path.parts:
        raise ValueError(f"unsafe zip member {info.filename!r}: '..' would escape the target folder")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ValueError(f"unsafe zip member {info.filename!r}: symbolic link")
    return path


MAX_MEMBERS = 100_000
MAX_EXTRACTED_BYTES = 4 << 30  # 4 GiB: far above any collection the course uses, far below a zip bomb's


def extract_zip(archive: str | os.PathLike, target: str | os.PathLike, max_members: int = MAX_MEMBERS,
                max_bytes: int = MAX_EXTRACTED_BYTES) -> Path:
    """Extract ``archive`` into the folder ``target`` (replaced atomically).

    Every member is checked first; one unsafe member (absolute path, ``..``, link) refuses the
    whole archive and leaves ``target`` untouched. So does an archive of more than ``max_members``
    members or ``max_bytes`` extracted bytes (counted while copying, not trusted from the header:
    a zip bomb stops at the cap), and an unreadable one (a one-line ``ValueError``).
    """
    target = Path(target)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise ValueError(f"{archive}: not a readable zip archive ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise ValueError(f"{archive}: {len(infos)} members, more than the {max_members} allowed")
        if sum(i.file_size for i in infos) > max_bytes:
            raise ValueError(f"{archive}: would extract more than {max_bytes} bytes")
        members = [(info, _safe_member(info)) for info in infos]
        written = 0
        with atomic_dir(target) as tmp:
            root = tmp.resolve()
            for info, rel in members:
                out = (root / rel).resolve()
                if root not in out.parents and out != root:  # belt and braces
                    raise ValueError(f"unsafe zip member {info.filename!r}: escapes the target folder")
                if info.is_dir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with zf.open(info) as src, open(out, "wb") as dst:
                        for block in iter(lambda: src.read(CHUNK), b""):
                            written += len(block)
                            if written > max_bytes:
                                raise ValueError(f"{archive}: extracts to more than {max_bytes} bytes (a zip bomb?)")
                            dst.write(block)
                except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
                    raise ValueError(f"{archive}: member {info.filename!r} is damaged ({exc})") from None
    return target


def fetch_zip(url: str, target: str | os.PathLike, md5: str | None = None, sha256: str | None = None, desc: str | None = None) -> Path:
    """Download a zip (checksum verified), extract it safely, and return the dataset folder.

    Archives that hold a single top-level folder (BEIR's ``scifact.zip`` holds ``scifact/``) are
    unwrapped so that ``target`` itself is the dataset folder. The zip is deleted afterwards.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    archive = target.parent / f"{target.name}.zip"
    download(url, archive, md5=md5, sha256=sha256, desc=desc)
    try:
        staging = target.parent / f".{target.name}.extract"
        shutil.rmtree(staging, ignore_errors=True)
        extract_zip(archive, staging)
        entries = [p for p in staging.iterdir() if not p.name.startswith((".", "__MACOSX"))]
        inner = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
        with atomic_dir(target) as tmp:
            for item in inner.iterdir():
                shutil.move(str(item), tmp / item.name)
        shutil.rmtree(staging, ignore_errors=True)
    finally:
        with contextlib.suppress(FileNotFoundError):
            archive.unlink()
    return target
