"""Prefect flows: they compose tasks and do nothing else."""
