# gantool developer entry points. `make test` and `make demo` build .venv themselves.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.gantool-dev-installed
DEMO   ?= demo

MNIST_TEST ?= ../shared/data/mnist
# A loopback-only network namespace for everything that starts Ray (tests/scale/test_ray.py): Ray reaches
# out to cloud metadata services and public DNS on its own (gantool/scale/ray_start.py says where).
LOOPBACK ?= ../shared/tools/loopback
PRETRAINED ?= pretrained

.PHONY: test test-fast test-arm64 system-deps demo bench pretrained pretrained-nano clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Everything: runtime + train + export + test tools (torch comes from pip's local wheels here).
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --disable-pip-version-check --no-warn-conflicts -e '.[dev]'
	# The LiteRT converter and its dependencies but transformers (full typer would replace typer-slim's
	# CLI module), typing-extensions kept new enough for selenium and anyio: .ci/litert_deps.py says why.
	$(PY) .ci/litert_deps.py
	touch $(STAMP)

PYTEST := $(PY) -m pytest -q --durations=15

# Lint and format first (ruff), types (mypy, the whole package; settings in pyproject.toml),
# the layer contracts (import-linter), then two pytest processes: the edge-format tests load
# ExecuTorch's and OpenVINO's native runtimes, which bundle their own copies of libraries torch also
# ships (XNNPACK, cpuinfo), so they run apart from the rest. Both share the runs they train
# (GANTOOL_TEST_FIXTURES), made once per `make test`.
# What the tests need beyond pip (Debian packages as root, binfmt, the examples' npm packages): warnings
# where it cannot install them (the tests that need them skip and the summary names the fix), errors on CI.
system-deps:
	bash .ci/system_deps.sh

test: system-deps $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	@fixtures=$$(mktemp -d); trap 'rm -rf "$$fixtures"' EXIT; \
	GANTOOL_TEST_FIXTURES=$$fixtures $(PYTEST) -m "not edge and not ray" && \
	GANTOOL_TEST_FIXTURES=$$fixtures $(PYTEST) -m "edge and not ray" && \
	if [ -x "$(LOOPBACK)" ]; then $(LOOPBACK) $(PYTEST) -m ray; \
	else echo "note: $(LOOPBACK) not found: the Ray tests skip (they run only without a network)"; $(PYTEST) -m ray; fi

# The torch-free runtime and an x86 export's files on ARM64 (qemu-user, a Debian root made once in
# .arm64/root; needs root, debootstrap, qemu-user-static): figures in benchmarks/results/arm64.md.
# make test runs the same check (tests/test_arm64.py) without writing the table.
test-arm64: $(STAMP)
	$(PY) tests/arm64/run.py --out benchmarks/results/arm64.md

# The quick feedback loop (under 2 minutes): no test that trains a model first, no slow, edge or Ray test.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not edge and not ray and not trains"

# Train a small DCGAN on the offline 5k MNIST sample, export + verify it, sample a grid.
demo: $(STAMP)
	$(VENV)/bin/gantool train --dataset mnist-sample --arch dcgan --conditional --minutes 2 --batch-size 64 \
		--run-dir $(DEMO)/run --overwrite  # 2 min: FID 1.47x the floor, 98.5% right class (demo_quality.md)
	$(VENV)/bin/gantool export $(DEMO)/run --out $(DEMO)/export --onnx --torchscript --seeded --fp16 --int8 --force
	$(VENV)/bin/gantool sample $(DEMO)/export/model.onnx --n 100 --labels 0,1,2,3,4,5,6,7,8,9 \
		--seed 0 --out $(DEMO)/samples.png
	@echo "demo: open $(DEMO)/samples.png, $(DEMO)/run/losses.png, $(DEMO)/export/verification.json"

# The model inside the package (gantool/runtime/models/): reproducible on CPU (fixed seed, epochs, not
# minutes). ~25 min on 2 cores. Scored on the MNIST test split ($(MNIST_TEST)), recorded in benchmarks/results/.
pretrained: $(STAMP)
	$(VENV)/bin/gantool train --dataset mnist-sample --epochs 250 --lr-decay-start 0.5 --lr-g 2e-4 --lr-d 2e-4 --seed 0 \
		--run-dir $(PRETRAINED)/run --overwrite
	$(VENV)/bin/gantool export $(PRETRAINED)/run --out $(PRETRAINED)/export --seeded --fp16 --int8 --force \
		--fid-data-dir $(MNIST_TEST)
	for f in model model.fp16 model.int8; do $(VENV)/bin/gantool eval $(PRETRAINED)/export/$$f.onnx --n 10000 \
		--data-dir $(MNIST_TEST) --json $(PRETRAINED)/eval.$$f.json || exit 1; done
	cp $(PRETRAINED)/export/model.seeded.fp16.onnx gantool/runtime/models/digits.seeded.fp16.onnx
	$(PY) .ci/record_bundled.py digits.seeded.fp16.onnx base  # its SHA-256 into models/manifest.json

# The nano model inside the package (gantool/runtime/models/nano.seeded.int8.onnx) and its C files in
# examples/mcu/generated: ~6 min on 2 cores. Scored like the base model (benchmarks/results/sizes.md).
pretrained-nano: $(STAMP)
	$(VENV)/bin/gantool train --dataset mnist-sample --size nano --epochs 150 --lr-decay-start 0.5 --lr-g 2e-4 --lr-d 2e-4 --seed 0 \
		--run-dir $(PRETRAINED)/nano --overwrite
	$(VENV)/bin/gantool export $(PRETRAINED)/nano --out $(PRETRAINED)/nano-export --c --force --fid-data-dir $(MNIST_TEST)
	$(VENV)/bin/gantool eval $(PRETRAINED)/nano-export/model.int8.onnx --n 10000 --data-dir $(MNIST_TEST) \
		--json $(PRETRAINED)/eval.nano.int8.json
	cp $(PRETRAINED)/nano-export/model.seeded.int8.onnx gantool/runtime/models/nano.seeded.int8.onnx
	$(PY) .ci/record_bundled.py nano.seeded.int8.onnx nano
	$(MAKE) -C examples/mcu generated PYTHON=$(abspath $(PY))

bench: $(STAMP)
	$(PY) benchmarks/loop_overhead.py --out benchmarks/results/loop_overhead.md
	$(PY) benchmarks/train_speed.py
	$(PY) benchmarks/runtime_speed.py
	$(PY) benchmarks/http_load.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
