# One-command set-up on a fresh machine (Python 3.11 + pip; no internet needed
# beyond PyPI and Debian packages).  `make demo`, `make test` and `make test-fast`
# each create the virtual environment first if it is missing.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
# torch 2.14.1 / torchvision 0.29.1: the releases on this machine's disk (a CUDA
# build that also runs on the CPU); see docs/usage.md "Install".  Changing the pin
# re-installs (the venv remembers it in $(VENV)/.torch-pin).
TORCH  ?= torch==2.14.1 torchvision==0.29.1
# the extras the whole test suite needs (`test` pulls in notebooks, e2e and ray)
EXTRAS ?= test
# the inner loop: everything but the slow, browser/notebook and Ray tests (under 2 minutes)
FAST   := not slow and not e2e and not ray

.PHONY: venv demo test test-fast notebooks browser clean FORCE

# rewritten only when TORCH changes, so that .installed is rebuilt then
$(VENV)/.torch-pin: FORCE
	@mkdir -p $(VENV)
	@echo '$(TORCH)' | cmp -s - $@ || echo '$(TORCH)' > $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch-pin
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	touch $@

venv: $(VENV)/.installed

## Print the duplicate groups found in data/sample_videos (changes nothing).
demo: venv
	$(PY) main.py data/sample_videos

## Run the whole test suite.
test: venv browser
	MPLBACKEND=Agg $(PY) -m pytest -q

## The inner loop: no slow, e2e or Ray tests.
test-fast: venv
	MPLBACKEND=Agg $(PY) -m pytest -q -m "$(FAST)"

## Debian's chromium for the browser tests (playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && apt-get install -y -qq chromium >/dev/null); \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache

## Re-execute the teaching notebooks and save them with outputs (notebooks/*.ipynb).
notebooks: venv
	$(PY) notebooks/execute_notebooks.py
