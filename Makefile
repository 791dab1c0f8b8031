# Two commands set up and run everything on a fresh machine:
#   make demo   the main job end to end on an embedded local AWS endpoint (no AWS account)
#   make test   the test suite
# Both install what they need first (Java 17 when missing, the .venv virtualenv).

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)

.PHONY: setup test lint demo restore clean

setup:
	@bash scripts/bootstrap.sh

lint: setup
	$(VENV)/bin/ruff check .

test: setup lint
	$(PY) -m pytest -q

demo: setup
	$(PY) scripts/demo.py

# Restore a backup with the job running on local Spark, against whatever AWS_ENDPOINT_URL /
# credentials point at (your AWS account by default). Example:
#   make restore DATE=latest BACKUP_BUCKET=my-backups ENVIRONMENT=prod ARGS="--dry_run true"
DATE ?= latest
S3_EXPORTS_PREFIX ?= native-exports
restore: setup
	@test -n "$(BACKUP_BUCKET)" || { echo "make restore needs BACKUP_BUCKET=<bucket> (and ENVIRONMENT=<name>)"; exit 2; }
	$(PY) glue_jobs/restore_job.py --backup_date "$(DATE)" --BACKUP_BUCKET "$(BACKUP_BUCKET)" \
	  --ENVIRONMENT "$(ENVIRONMENT)" --S3_EXPORTS_PREFIX "$(S3_EXPORTS_PREFIX)" $(ARGS)

clean:
	rm -rf dist build .pytest_cache .ruff_cache spark-warehouse metastore_db derby.log
