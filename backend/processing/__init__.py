"""What each processor does with a batch: domain rules applied through the adapters."""
