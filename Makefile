# ganaug: `make demo` sets everything up and runs the main job; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
GANAUG := $(VENV)/bin/ganaug
STAMP := $(VENV)/.installed
DEMO_RUN := runs/demo

.PHONY: install test demo bench clean

# Re-install whenever the project's requirements change.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

demo: $(STAMP)
	rm -rf $(DEMO_RUN)
	$(GANAUG) train-gan --config configs/demo.yaml --out $(DEMO_RUN)
	$(GANAUG) sample --run $(DEMO_RUN) --per-class 10 --seed 0 --quiet --grid $(DEMO_RUN)/samples-grid.png
	@echo "samples: $(DEMO_RUN)/samples/  grid: $(DEMO_RUN)/samples-grid.png"

clean:
	rm -rf $(VENV) runs build *.egg-info .pytest_cache
