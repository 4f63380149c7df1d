# Two commands on a fresh machine: `make run` and `make test`.
VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# One stamp per DAWNDUSK_COMPILE: a pure build (0) is not taken for a compiled one later.
BUILT  := $(VENV)/.compiled-$(or $(DAWNDUSK_COMPILE),1)
# The hot path mypyc compiles to C (the list is common/compiled.py's; setup.py builds it).
HOT    := $(shell python3 common/compiled.py)

.PHONY: run test lint bench docs clean

# Install when pyproject.toml or setup.py changed (that builds the hot path too); otherwise,
# rebuild only the hot path when one of its modules changed (a build of other sources is never
# run: it falls back to pure Python and says so). The stamp is taken when the build starts, so
# that a module edited meanwhile is rebuilt next time. DAWNDUSK_COMPILE=0 builds nothing.
$(BUILT): pyproject.toml setup.py common/compiled.py $(HOT)
	@mkdir -p $(VENV) && touch $@.started
	@if [ ! -f $(STAMP) ] || [ pyproject.toml -nt $(STAMP) ] || [ setup.py -nt $(STAMP) ]; then \
		set -e; \
		echo "python3 -m venv $(VENV) && pip install -e '.[dev]'"; \
		python3 -m venv $(VENV); \
		$(PYTHON) -m pip install --quiet --upgrade pip; \
		$(PYTHON) -m pip install --quiet -e '.[dev]'; \
		touch $(STAMP); \
	else \
		echo "rebuilding the compiled hot path"; \
		$(PYTHON) -m pip install --quiet --no-deps --no-build-isolation -e .; \
	fi
	@mv $@.started $@

# The environment alone, for lint and docs: installed (or reinstalled when pyproject.toml or
# setup.py changed), without waiting for a rebuild of the hot path they do not run.
$(STAMP): pyproject.toml setup.py
	$(MAKE) $(BUILT)

run: $(BUILT)
	$(VENV)/bin/dawndusk run first_light

# Two workers, a test file each at a time (module fleets stay in one worker): most of the
# suite waits on simulated time, so this halves its wall time (~4.5 min here, ~9 serially).
test: $(BUILT)
	$(PYTHON) -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Every benchmark prints its figures against its target; a miss does not stop the others.
bench: $(BUILT)
	-$(PYTHON) bench/codec.py
	-$(PYTHON) bench/bus.py
	-$(PYTHON) bench/memory.py
	-$(PYTHON) bench/ingest.py
	-$(PYTHON) bench/fleet.py

# The dictionary reference; a unit test fails when the committed file is not current.
docs: $(STAMP)
	$(VENV)/bin/dawndusk dict --markdown -o docs/dictionary.md

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis build
	find common flight -name '*.so' -delete; rm -f dawndusk_hot__mypyc*.so common/compiled_sources.json common/compiled_sources.json.pending
