"""The HTTP API: routers, key checks and error shapes shared by the ingest and read functions."""
