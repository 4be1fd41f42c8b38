"""Lambda entry points: each reads in ten seconds; the work is in processing/ and api/."""
