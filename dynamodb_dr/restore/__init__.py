"""The restore: a backup (native exports in S3) written back into DynamoDB tables, type-exact.

Read top-down from the Glue entry point ``glue_jobs/restore_job.py``:

- ``args``        the job's arguments, parsed strictly into ``RestoreArgs``
- ``job``         ``run_restore``: one function per stage (check, validate, prepare, write, remove
                  extras, finalize), on a ``runner`` (Spark, or threads: ``lambda_restore``)
- ``plan``        which backup and tables, and whether each target can take the restore
- ``export_reader`` AWS's export layout: summary, data files, checked lines (``inflate``, ``malloc``)
- ``tasks``       what one Spark task does: validate one data file, or write a list of them
- ``writer``      the one door to DynamoDB's BatchWriteItem (``BatchWriter``), with ``rate_limit``
- ``item_rules``  what DynamoDB would refuse, checked on every line; ``extras``: keys not in the backup
- ``resume``, ``progress``, ``report``, ``targets``, ``write_rate``: the stages' helpers

The package imports nothing itself, so a Spark worker that unpickles a task loads only what the
task needs.
"""
