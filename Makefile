# Two entry points for a fresh machine: `make demo` and `make test`.
# Each environment is made when missing and stamped with its pins: a second call is instant.
#   .venv          the workflow side (Snakemake, analysis): envs/workflow.txt, Python >= 3.11
#   .venv-pytorch  PyTorch's board side: envs/pytorch-$(ARCH).txt
#   .venv-mxnet    MXNet's board side:   envs/mxnet-$(ARCH).txt (+ the ARM library stand-in on aarch64)
#   .venv-parity   tests only: both frameworks in one process (tests/board/)
# On a Jetson (/etc/nv_tegra_release), PYTORCH_REQS defaults to envs/pytorch-jetson.txt, beside
# NVIDIA's wheel (docs/jetson.md); or name any interpreter in config.yaml's `interpreters`.
ARCH   := $(shell uname -m)
PYTHON ?= python3
CORES  ?= 2
PIP    := pip install --quiet --disable-pip-version-check

VENV ?= .venv
PY   := $(VENV)/bin/python
PYTORCH_VENV   ?= .venv-pytorch
PYTORCH_PYTHON ?= $(PYTHON)
# A Jetson's torch is NVIDIA's wheel, installed first (docs/jetson.md): the pins there leave it alone.
JETSON         := $(wildcard /etc/nv_tegra_release)
PYTORCH_REQS   ?= $(if $(JETSON),envs/pytorch-jetson.txt,envs/pytorch-$(ARCH).txt)
MXNET_VENV     ?= .venv-mxnet
MXNET_PYTHON   ?= $(PYTHON)
MXNET_REQS     ?= envs/mxnet-$(ARCH).txt
VENV_FLAGS     ?=
PARITY_VENV    ?= .venv-parity
PARITY_REQS    ?= envs/parity-$(ARCH).txt
# The oldest board-side Python (JetPack 5's 3.8), where this machine has one: tests only.
# (A pyenv shim is on PATH even where it cannot run 3.8: each candidate must really start.)
PY38           ?= $(shell for p in $$HOME/.pyenv/versions/3.8*/bin/python3.8 $$(command -v python3.8); do \
                      "$$p" -c "" 2>/dev/null && { echo "$$p"; break; }; done)
PY38_VENV      ?= .venv-py38

.PHONY: setup setup-workflow setup-pytorch setup-mxnet setup-parity setup-py38 check-envs demo demo-full test clean-results

setup: setup-workflow setup-pytorch setup-mxnet check-envs

setup-workflow: $(VENV)/.edgebench-installed
setup-pytorch: $(PYTORCH_VENV)/.edgebench-installed
setup-mxnet: $(MXNET_VENV)/.edgebench-installed
setup-parity: $(PARITY_VENV)/.edgebench-installed

$(VENV)/.edgebench-installed: envs/workflow.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m $(PIP) -r envs/workflow.txt
	$(PY) -m $(PIP) --no-deps --no-build-isolation -e .
	touch $@

# The board side needs no install of edgebench: the runner starts with the checkout on PYTHONPATH.
$(PYTORCH_VENV)/.edgebench-installed: $(PYTORCH_REQS)
	test -x $(PYTORCH_VENV)/bin/python || $(PYTORCH_PYTHON) -m venv $(VENV_FLAGS) $(PYTORCH_VENV)
	$(PYTORCH_VENV)/bin/python -m $(PIP) -r $(PYTORCH_REQS)
	touch $@

$(MXNET_VENV)/.edgebench-installed: $(MXNET_REQS) $(if $(filter aarch64,$(ARCH)),$(wildcard envs/armpl-standin/*))
	test -x $(MXNET_VENV)/bin/python || $(MXNET_PYTHON) -m venv $(VENV_FLAGS) $(MXNET_VENV)
	$(MXNET_VENV)/bin/python -m $(PIP) -r $(MXNET_REQS)
	if [ "$(ARCH)" = aarch64 ]; then envs/armpl-standin/install.sh $(MXNET_VENV); fi
	touch $@

$(PARITY_VENV)/.edgebench-installed: $(PARITY_REQS)
	test -x $(PARITY_VENV)/bin/python || $(PYTHON) -m venv $(PARITY_VENV)
	$(PARITY_VENV)/bin/python -m $(PIP) -r $(PARITY_REQS)
	touch $@

setup-py38:
ifeq ($(PY38),)
	@echo "no Python 3.8 on this machine: the test that trains on it will say it was skipped"
else
	$(MAKE) $(PY38_VENV)/.edgebench-installed
endif

$(PY38_VENV)/.edgebench-installed: envs/board-py38-$(ARCH).txt
	test -x $(PY38_VENV)/bin/python || $(PY38) -m venv $(PY38_VENV)
	$(PY38_VENV)/bin/python -m $(PIP) -r envs/board-py38-$(ARCH).txt
	touch $@

# Setup proves itself: each framework imports in its own environment, or setup fails here,
# naming it (an installed wheel that cannot load its libraries counts as not installed).
check-envs: setup-workflow
	$(PY) -m edgebench.interpreters --require pytorch=$(PYTORCH_VENV)/bin/python mxnet=$(MXNET_VENV)/bin/python

# The demo trains the two models that learn within its budget on 2 cores (docs/demo.md);
# demo-full adds the other five, at the same settings, into the same results/.
demo: setup
	$(VENV)/bin/snakemake --cores $(CORES) --configfile config/demo.yaml

demo-full: setup
	$(VENV)/bin/snakemake --cores $(CORES) --configfile config/demo.yaml config/demo-full.yaml

# Two runs of pytest: the workflow side and end-to-end tests in .venv (which has no framework),
# then the tests that compare the frameworks in one process.
test: setup setup-parity setup-py38
	$(PY) -m pytest tests --ignore=tests/board
	$(PARITY_VENV)/bin/python -m pytest tests/board

clean-results:
	rm -rf results data/demo_imagenet
