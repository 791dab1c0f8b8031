"""Benchmarks of the restore path (``make bench``). Not part of the library or the test suite."""
