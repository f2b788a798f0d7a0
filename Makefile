# gantool developer entry points. `make test` and `make demo` build .venv themselves.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.gantool-dev-installed
DEMO   ?= demo

.PHONY: test test-fast demo bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Everything: runtime + train + export + test tools (torch comes from pip's local wheels here).
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

# Train a small DCGAN on the offline 5k MNIST sample, export + verify it, sample a grid.
demo: $(STAMP)
	$(VENV)/bin/gantool train --dataset mnist-sample --arch dcgan --conditional --epochs 15 \
		--run-dir $(DEMO)/run --overwrite
	$(VENV)/bin/gantool export $(DEMO)/run --out $(DEMO)/export --fp16 --int8 --force
	$(VENV)/bin/gantool sample $(DEMO)/export/model.onnx --n 100 --labels 0,1,2,3,4,5,6,7,8,9 \
		--seed 0 --out $(DEMO)/samples.png
	@echo "demo: open $(DEMO)/samples.png, $(DEMO)/run/losses.png, $(DEMO)/export/verification.json"

bench: $(STAMP)
	$(PY) benchmarks/train_speed.py
	$(PY) benchmarks/runtime_speed.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
