"""``python -m dynamodb_dr.cli`` = the ``dynamodb-dr`` console script."""

from dynamodb_dr.cli.app import main

main()
