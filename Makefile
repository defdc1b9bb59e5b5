# llmhw — common tasks (GNU make).
#
#   make quickstart                     set up .venv, search the default design (tpuv4 × gpt3, 500 trials),
#                                       write its front as CSV and plots (outputs/quickstart-tpuv4-gpt3/)
#   make setup                          create .venv from requirements.txt (once; again when it changes)
#   make test                           run the test suite (.venv/bin/python -m pytest -q)
#   make <hw>.hw                        hardware phase only, exhaustive: inputs/hardware/config/<hw>.yaml
#   make <hw>.sw.<model>                exhaustive hardware + software phase for one model
#   make <hw>.sw                        ... for every model in inputs/software/model/, one after another
#   make <hw>.clean                     remove outputs/<hw>
#   make search HW=tpuv4 MODEL=gpt3 TRIALS=500 [STUDY=name] [SAMPLER=name]
#   make dashboard STUDY=<name>         open the Optuna dashboard of a study
#   make bench                          run every benchmark bench/bench_*.py (or BENCH=file)
#   make case-chiplet-cloud             run the Chiplet Cloud case study, write docs/case-studies/chiplet-cloud.md
#   make clean                          remove caches and outputs/*; `make distclean` also removes .venv
#
# Extra command-line flags go in ARGS (search.py, benchmarks) or PYTEST_ARGS (pytest), e.g.
#   make tpuv4.sw.gpt3 ARGS='--compat reference'      make test PYTEST_ARGS='-k chip -x'
#   make test PYTEST_JOBS=     (one process: the suite without pytest-xdist)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

HW_DIR    := inputs/hardware/config
MODEL_DIR := inputs/software/model
MODELS    := $(sort $(basename $(notdir $(wildcard $(MODEL_DIR)/*.yaml))))

HW      ?= tpuv4
MODEL   ?= gpt3
TRIALS  ?= 500
STUDY   ?=
SAMPLER ?=
ARGS    ?=
PYTEST_ARGS ?=
# the suite runs on every core (pytest-xdist), each test file on one worker
PYTEST_JOBS ?= -n auto --dist loadfile
BENCH   ?= $(sort $(wildcard bench/bench_*.py))

MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
.DEFAULT_GOAL := help

.PHONY: help quickstart setup test search dashboard bench case-chiplet-cloud clean distclean FORCE

help:
	@awk 'NR == 1 { next } !/^#/ { exit } { sub(/^# ?/, ""); print }' $(firstword $(MAKEFILE_LIST))

# ---- virtual environment ------------------------------------------------------------------------
setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

# ---- tests --------------------------------------------------------------------------------------
# pytest exit codes: 0 passed, 1 failures, 5 no test collected (treated as an error, with a message).
test: $(STAMP)
	@rc=0; $(PY) -m pytest -q $(PYTEST_JOBS) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5)" >&2; fi; \
	exit $$rc

# ---- exhaustive runs ----------------------------------------------------------------------------
%.hw: FORCE $(STAMP)
	$(PY) search.py --exhaustive --hardware-only --hw $(HW_DIR)/$*.yaml $(ARGS)

# <hw>.sw.<model>: one pattern rule per model file (a pattern rule has a single stem).
define SW_MODEL_RULE
%.sw.$(1): FORCE $$(STAMP)
	$$(PY) search.py --exhaustive --hw $$(HW_DIR)/$$*.yaml --model $(1) $$(ARGS)
endef
$(foreach m,$(MODELS),$(eval $(call SW_MODEL_RULE,$(m))))

%.sw: FORCE $(STAMP)
	@set -e; for m in $(MODELS); do \
	  echo "$(PY) search.py --exhaustive --hw $(HW_DIR)/$*.yaml --model $$m $(ARGS)"; \
	  $(PY) search.py --exhaustive --hw $(HW_DIR)/$*.yaml --model $$m $(ARGS); \
	done

%.clean: FORCE
	rm -rf outputs/$*

# ---- optimisation -------------------------------------------------------------------------------
QUICK_STUDY ?= quickstart-$(HW)-$(MODEL)
QUICK_OUT   ?= outputs/$(QUICK_STUDY)

quickstart: $(STAMP)
	$(PY) search.py --hw $(HW_DIR)/$(HW).yaml --model $(MODEL) --trials $(TRIALS) --study $(QUICK_STUDY) \
	  --export $(QUICK_OUT) --force $(ARGS)

search: need-HW need-MODEL $(STAMP)
	$(PY) search.py --hw $(HW_DIR)/$(HW).yaml --model $(MODEL) --trials $(TRIALS) \
	  $(if $(STUDY),--study $(STUDY)) $(if $(SAMPLER),--sampler $(SAMPLER)) $(ARGS)

dashboard: need-STUDY $(STAMP)
	$(PY) search.py --study $(STUDY) --dashboard $(ARGS)

bench: $(STAMP)
	@test -n "$(BENCH)" || { echo "make bench: no bench/bench_*.py" >&2; exit 2; }
	@set -e; for b in $(BENCH); do echo "$(PY) $$b $(ARGS)"; $(PY) $$b $(ARGS); done

# ---- case studies (docs/case-studies/) -----------------------------------------------------------
# Inputs, budgets and seed: inputs/casestudy/chiplet_cloud.yaml; studies: studies/case-chiplet-cloud.db.
case-chiplet-cloud: $(STAMP)
	$(PY) -m llmhw.casestudy.chiplet_cloud $(ARGS)

# need-VAR: fail early (before any install) when a required variable is empty.
need-%: FORCE
	@test -n "$($*)" || { echo "make: set $*=..., e.g. make $(MAKECMDGOALS) $*=<value>" >&2; exit 2; }

# ---- cleaning -----------------------------------------------------------------------------------
clean:
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
	rm -rf .pytest_cache .hypothesis
	find outputs -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

FORCE:
