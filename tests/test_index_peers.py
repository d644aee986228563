"""lessonlib.index.libraries.peer_status: one line saying why an optional ANN library (ScaNN, NMSLIB) is absent."""

from __future__ import annotations

import pytest

from lessonlib.index.libraries import OPTIONAL_PEERS, NmslibIndex, ScannIndex, peer_status


def missing(name):
    raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def here(python="3.11", system="Linux", machine="x86_64"):
    return dict(python=python, system=system, machine=machine)


@pytest.mark.parametrize("name", sorted(OPTIONAL_PEERS))
def test_importable_means_no_reason(name):
    assert peer_status(name, importer=lambda n: object(), **here()) is None


@pytest.mark.parametrize("name", sorted(OPTIONAL_PEERS))
def test_not_installed_with_a_wheel_says_how_to_install(name):
    why = peer_status(name, importer=missing, **here())
    assert why.startswith("not installed") and f"pip install {name}" in why and "3.11" in why
    assert "\n" not in why


def test_no_wheel_for_this_python():
    why = peer_status("nmslib", importer=missing, **here(python="3.7"))
    assert "no wheel for Python 3.7" in why and "source" in why


@pytest.mark.parametrize("system, machine", [("Darwin", "arm64"), ("Windows", "AMD64"), ("Linux", "aarch64")])
def test_no_wheel_for_this_platform(system, machine):
    why = peer_status("scann", importer=missing, **here(system=system, machine=machine))
    assert f"no wheel for this platform ({system} {machine})" in why


def test_platform_is_checked_before_the_python_version():
    assert "platform" in peer_status("scann", importer=missing, **here(python="3.7", system="Darwin", machine="arm64"))


def test_installed_but_a_dependency_is_missing():
    def importer(name):
        raise ModuleNotFoundError("No module named 'google'", name="google")
    assert peer_status("scann", importer=importer) == "installed but does not load (missing module 'google')"


def test_installed_but_the_binary_does_not_load():
    def importer(name):
        raise ImportError("libfoo.so: cannot open shared object file\nmore detail")
    why = peer_status("nmslib", importer=importer)
    assert why == "installed but does not load (ImportError: libfoo.so: cannot open shared object file)"


def test_unknown_peer_is_a_value_error():
    with pytest.raises(ValueError, match="expected one of"):
        peer_status("faiss")


@pytest.mark.parametrize("name, cls", [("scann", ScannIndex), ("nmslib", NmslibIndex)])
def test_wrapper_of_an_absent_peer_raises_import_error(name, cls):
    if peer_status(name) is None:
        pytest.skip(f"{name} is installed here")
    with pytest.raises(ImportError, match=name):
        cls(8)
