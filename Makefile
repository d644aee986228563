# The two set-up commands of the README:
#   make workbook   installs into .venv and executes every notebook (lessonlib workbook)
#   make test       installs into .venv (with the test peers) and runs the tests and the notebooks
#   make lab        starts JupyterLab on your working copy work/ (lessonlib lab)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
# CPU build of torch first: with it installed, the project's torch range installs nothing more.
TORCH ?= torch==2.13.0

.PHONY: install install-test test test-unit test-notebooks test-browser lab workbook clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(PIP) install "$(TORCH)"
	$(PIP) install -e ".[test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest tests -q
	LESSONLIB_FAST=1 $(PY) -m pytest --nbval-lax -q -p no:cacheprovider notebooks

test-unit: install
	$(PY) -m pytest tests -q

test-notebooks: install
	LESSONLIB_FAST=1 $(PY) -m pytest --nbval-lax -q -p no:cacheprovider notebooks

# JupyterLab in Chromium (Playwright): notebooks 00, 02, 05, 14 and an exercise, fast mode; see tests/browser/.
test-browser: install
	$(PIP) install -e ".[test,browser]"
	tests/browser/install_chromium.sh
	LESSONLIB_FAST=1 $(PY) -m pytest -m browser -q -p no:cacheprovider tests/browser

lab: install
	$(VENV)/bin/lessonlib lab

workbook: install
	$(VENV)/bin/lessonlib workbook

clean:
	rm -rf build .pytest_cache
