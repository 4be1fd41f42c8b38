"""Pure domain code: event models, metric rules and aggregation. No AWS, no settings."""
