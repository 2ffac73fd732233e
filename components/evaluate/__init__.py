"""Evaluation: the primary metrics, and explanations of fitted models."""
