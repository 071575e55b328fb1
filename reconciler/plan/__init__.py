"""Pure planning: field diff, deterministic placement, risk classification."""
