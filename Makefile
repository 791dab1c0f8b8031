# Two commands set up and run everything on a fresh machine:
#   make demo   the main job end to end on an embedded local AWS endpoint (no AWS account)
#   make test   the test suite
# Both install what they need first (Java 17 when missing, the .venv virtualenv).

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)

.PHONY: setup test test-fast lint demo restore clean

setup:
	@bash scripts/bootstrap.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: setup lint
	$(PY) -m pytest -q

# Unit tests and the quick functional ones: no Spark, no outside tools (under a minute).
test-fast: setup
	$(PY) -m pytest -q -m "not spark and not slow"

# Spark's Python workers run the interpreter that runs the job (not the first python3 on PATH).
demo: setup
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) scripts/demo.py

# Restore a backup with the job running on local Spark, against whatever AWS_ENDPOINT_URL /
# credentials point at (your AWS account by default). Example:
#   make restore DATE=latest BACKUP_BUCKET=my-backups ENVIRONMENT=prod ARGS="--dry_run true"
DATE ?= latest
S3_EXPORTS_PREFIX ?= native-exports
restore: setup
	@test -n "$(BACKUP_BUCKET)" || { echo "make restore needs BACKUP_BUCKET=<bucket> (and ENVIRONMENT=<name>)"; exit 2; }
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) glue_jobs/restore_job.py --backup_date "$(DATE)" --BACKUP_BUCKET "$(BACKUP_BUCKET)" \
	  --ENVIRONMENT "$(ENVIRONMENT)" --S3_EXPORTS_PREFIX "$(S3_EXPORTS_PREFIX)" $(ARGS)

clean:
	rm -rf dist build .pytest_cache .ruff_cache spark-warehouse metastore_db derby.log

# --- deployable infrastructure (infra/, see docs/deploy.md) ---------------------------------------
.PHONY: package checkov glue-docker

# Lambda zips, the Glue script and its library into dist/ (reproducible: same sources, same bytes).
package: setup
	$(PY) scripts/package.py --out dist

# checkov over infra/ from its own virtualenv, kept per user and checkov version in
# $XDG_CACHE_HOME/dynamodb-dr/ or ~/.cache/dynamodb-dr/ (created on first use, shared by every clone).
checkov:
	bash scripts/checkov.sh --quiet

# Run the restore job inside the official AWS Glue 5 image (needs Docker; not run by CI here).
# Uses your AWS credentials from ~/.aws and the environment. Example:
#   make glue-docker DATE=latest BACKUP_BUCKET=my-backups ENVIRONMENT=prod ARGS="--dry_run true"
GLUE_IMAGE ?= public.ecr.aws/glue/aws-glue-libs:5
glue-docker: package
	@command -v docker >/dev/null || { echo "make glue-docker needs Docker (https://docs.docker.com/get-docker/)"; exit 2; }
	@test -n "$(BACKUP_BUCKET)" || { echo "make glue-docker needs BACKUP_BUCKET=<bucket> (and ENVIRONMENT=<name>)"; exit 2; }
	docker run --rm -v "$(HOME)/.aws:/home/hadoop/.aws:ro" -v "$(CURDIR)/dist/glue:/home/hadoop/workspace:ro" \
	  -e AWS_PROFILE -e AWS_REGION -e AWS_DEFAULT_REGION -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_SESSION_TOKEN \
	  -e AWS_ENDPOINT_URL $(GLUE_IMAGE) spark-submit --py-files /home/hadoop/workspace/dynamodb_dr.zip /home/hadoop/workspace/restore_job.py \
	  --JOB_NAME dynamodb-dr-restore-local --backup_date "$(DATE)" --BACKUP_BUCKET "$(BACKUP_BUCKET)" \
	  --ENVIRONMENT "$(ENVIRONMENT)" --S3_EXPORTS_PREFIX "$(S3_EXPORTS_PREFIX)" $(ARGS)

# Benchmarks of the restore path (not part of `make test`); see docs/benchmarks.md. Generated exports
# go to .bench/exports/, the report and plot to .bench/results/. Defaults fit < 10 minutes on 2 cores:
#   make bench BENCH_ARGS="--items 10000000 --e2e-items 100000"
.PHONY: bench
bench: setup
	$(PY) -m benchmarks.run_all $(BENCH_ARGS)
