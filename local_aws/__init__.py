"""Local AWS endpoint for the demo and the tests: a real moto server over HTTP on 127.0.0.1.

Nothing in here is imported by product code. Product code reaches this endpoint only through the
standard ``AWS_ENDPOINT_URL`` mechanism, exactly as it would reach AWS.
"""

from local_aws.server import LocalAWS, start_local_aws

__all__ = ["LocalAWS", "start_local_aws"]
