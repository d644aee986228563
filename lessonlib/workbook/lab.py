"""``lessonlib lab``: JupyterLab on the learner's working copy of the notebooks.

JupyterLab autosaves every notebook it opens, outputs included. Opened in the repository, it would
rewrite the tracked notebooks, and the learner's next ``git pull`` would conflict. So the lab runs
on a *working copy*: on first start :func:`copy_workbook` copies ``notebooks/`` and
``exercises/student/`` into it (the layout kept, so the notebooks' relative links still work);
later starts copy only what is new (a lesson added by a ``git pull``) and never touch a file the
learner already has. The package, the bundled data and ``bench/results/`` stay where they are:
lessonlib finds them next to itself, wherever the notebooks run.

:func:`lab_command` builds the command line: this Python's JupyterLab, this venv's ``python3``
kernel first on ``JUPYTER_PATH`` (a kernel of the same name in ``~/.local/share/jupyter`` would
otherwise win), ``--allow-root`` only when running as root, a token the URL carries, and JupyterLab
settings (:func:`lab_settings`) that save the widgets' state with the notebook.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lessonlib.core.io import atomic_write, copy_file

COPIED = ("notebooks", "exercises/student")
SETTINGS = ".lab-settings"
"""The working copy's JupyterLab application settings folder (``LabApp.app_settings_dir``)."""
OVERRIDES = {"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True}}
"""Defaults the lab starts with: a saved notebook keeps its sliders' last state (``widgets`` metadata)."""
"""The folders of the repository a learner edits, copied into the working copy."""


@dataclass
class CopyReport:
    """What :func:`copy_workbook` did: files it copied, files the learner already had (left alone)."""

    folder: Path
    copied: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def copy_workbook(root: str | os.PathLike, target: str | os.PathLike) -> CopyReport:
    """Copy the notebooks and student exercises of repository ``root`` into ``target``, missing files only.

    Each file is written beside its final name and renamed into place (a killed copy leaves no
    half notebook); an existing file is never overwritten or removed.
    """
    root, target = Path(root).resolve(), Path(target).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target} is a file, not a folder for the working copy")
    if target == root or any(target.is_relative_to(root / sub) for sub in ("notebooks", "exercises")):
        raise ValueError(f"{target} would be the repository's own notebooks: choose a folder of your own (e.g. {root / 'work'})")
    report = CopyReport(target)
    for sub in COPIED:
        source = root / sub
        if not source.is_dir():
            raise FileNotFoundError(f"{source} not found: is {root} the workbook's repository?")
        for path in sorted(source.glob("*.ipynb")):
            rel = f"{sub}/{path.name}"
            dest = target / sub / path.name
            if dest.exists():
                report.kept.append(rel)
                continue
            copy_file(path, dest)
            report.copied.append(rel)
    return report


def lab_settings(folder: str | os.PathLike, app_settings: str | os.PathLike | None = None) -> Path:
    """``folder/.lab-settings``: the files of JupyterLab's own settings folder, with :data:`OVERRIDES` added.

    JupyterLab reads default overrides from ``overrides.json`` in its application settings folder
    (``<prefix>/share/jupyter/lab/settings``); the lab points that folder here instead, so the
    environment's own is copied first, and an override it sets itself wins over the course's.
    """
    if app_settings is None:
        from jupyterlab.labapp import LabApp  # deferred: JupyterLab's app loads its server stack

        app_settings = LabApp().app_settings_dir
    source, target = Path(app_settings), Path(folder) / SETTINGS
    overrides: dict = {}
    if source.is_dir():
        for path in sorted(source.glob("*.json")):
            if path.name != "overrides.json":
                copy_file(path, target / path.name)
        if (source / "overrides.json").is_file():
            overrides = json.loads((source / "overrides.json").read_text())
    merged = {plugin: {**values, **overrides.get(plugin, {})} for plugin, values in OVERRIDES.items()}
    with atomic_write(target / "overrides.json") as handle:
        json.dump({**overrides, **merged}, handle, indent=1)
    return target


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class LabCommand:
    """The JupyterLab command line, its environment and the URL a browser opens."""

    argv: list[str]
    env: dict[str, str]
    url: str
    token: str


def lab_command(folder: str | os.PathLike, *, port: int, host: str = "127.0.0.1", token: str | None = None,
                open_browser: bool = False, first: str | None = None) -> LabCommand:
    """The command that serves ``folder`` in JupyterLab, on this Python, with this venv's kernel.

    ``first`` (a path relative to ``folder``) is the notebook the URL opens.
    """
    folder = Path(folder).resolve()
    token = token or secrets.token_hex(24)
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}", f"--ServerApp.ip={host}",
            f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            f"--LabApp.app_settings_dir={lab_settings(folder)}"]
    if not open_browser:
        argv.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")  # Jupyter refuses to run as root without it (containers, cloud notebooks)
    env = dict(os.environ)
    ours = str(Path(sys.prefix) / "share" / "jupyter")  # where `make install` put the python3 kernel
    env["JUPYTER_PATH"] = os.pathsep.join([ours] + [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p])
    page = f"lab/tree/{first}" if first else "lab"
    shown = "localhost" if host in ("127.0.0.1", "localhost") else host
    return LabCommand(argv, env, f"http://{shown}:{port}/{page}?token={token}", token)
