"""Prefect tasks: thin wrappers over components, and all orchestration policy."""
