"""dynamodb_dr: the library shared by the export Lambdas, the Glue restore job and the stream
recovery Lambda. Entry points (handlers, the Glue script) stay thin and call into here."""

__version__ = "0.1.0"
USER_AGENT = f"dynamodb-dr/{__version__}"
