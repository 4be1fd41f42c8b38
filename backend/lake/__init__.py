"""The lake as an analytics source: Parquet tables compacted from the raw NDJSON.

- :mod:`backend.lake.schema`: the tables and their columns (pure; mirrored by Glue).
- :mod:`backend.lake.parquet`: rows to Parquet bytes and back (pyarrow).
"""
