"""Command registration (filled in as command groups land)."""
