"""``dynamodb-dr``: the operator's command line (a console script installed with the package).

Thin commands over library functions, one module per area: ``backups`` (list, show, check),
``restore`` (the restore job's own arguments, on local Spark or as a Glue job run that is followed
to its end), ``diff`` (what a restore would change), ``incidents`` (the stream recovery state
table). ``app`` holds the click commands and turns results and errors into output and exit codes,
which are the restore job's: 0 ok, 1 failed, 2 bad input (nothing started).
"""

from dynamodb_dr.cli.app import main

__all__ = ["main"]
