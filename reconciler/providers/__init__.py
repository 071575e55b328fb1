"""Providers: one subpackage each; observe.py only reads, apply.py is the only code that changes it."""
