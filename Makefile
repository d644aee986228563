# The set-up commands of the README:
#   make workbook         installs into .venv and executes every notebook (lessonlib workbook)
#   make lab              starts JupyterLab on your working copy work/ (lessonlib lab)
#   make test-notebooks   runs every notebook in fast mode under nbval
#   make book             renders the README, the notebooks and the exercises into build/book (lessonlib book)
# maintainer:start
#   make test             installs into .venv (with the test peers) and runs the tests and the notebooks
# (the blocks between maintainer:start and maintainer:end are left out of the learner's release: it has no tests/)
# maintainer:end
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
# CPU build of torch first: with it installed, the project's torch range installs nothing more.
TORCH ?= torch==2.13.0

.PHONY: install install-test test test-unit test-notebooks test-browser lab workbook book clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(PIP) install "$(TORCH)"
	$(PIP) install -e ".[test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

install: $(VENV)/.installed

test-notebooks: install
	LESSONLIB_FAST=1 $(PY) -m pytest --nbval-lax -q -p no:cacheprovider notebooks

# maintainer:start
test: install
	$(PY) -m pytest tests -q
	LESSONLIB_FAST=1 $(PY) -m pytest --nbval-lax -q -p no:cacheprovider notebooks

test-unit: install
	$(PY) -m pytest tests -q

# JupyterLab in Chromium (Playwright): notebooks 00, 02, 05, 14 and an exercise, fast mode; see tests/browser/.
test-browser: install
	$(PIP) install -e ".[test,browser]"
	tests/browser/install_chromium.sh
	LESSONLIB_FAST=1 $(PY) -m pytest -m browser -q -p no:cacheprovider tests/browser
# maintainer:end

lab: install
	$(VENV)/bin/lessonlib lab

workbook: install
	$(VENV)/bin/lessonlib workbook

book: install
	$(VENV)/bin/lessonlib book --out build/book

clean:
	rm -rf build .pytest_cache
