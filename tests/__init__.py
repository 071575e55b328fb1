"""homeport's test suite: one folder per area, shared real-backend fixtures in tests/backends/."""
