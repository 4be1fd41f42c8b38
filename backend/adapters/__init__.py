"""Adapters: the only code that talks to AWS. Each takes its clients as arguments."""
