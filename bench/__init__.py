"""Benchmarks of the local stack: ``make bench`` runs :mod:`bench.pipeline`."""
