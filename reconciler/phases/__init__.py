"""A reconcile run in fixed phases, one module each: fetch, load, render, observe, diff, gate, apply, prune, record."""
