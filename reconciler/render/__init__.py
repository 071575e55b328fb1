"""The chart engine: sandboxed Jinja2 charts, values checked with JSON Schema, one validator per format."""
