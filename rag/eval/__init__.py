"""Evaluation: metrics (pure functions) and, later, dataset adapters, runner and reports."""
