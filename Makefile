# Set-up is part of every target: a fresh clone needs nothing but python3 (3.11) and make.
VENV ?= .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dl,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/jido demo

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/python -m pytest
