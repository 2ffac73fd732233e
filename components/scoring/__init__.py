"""Scoring with a registered model: batch (files in, one atomic output) and online (a request's JSON rows)."""
