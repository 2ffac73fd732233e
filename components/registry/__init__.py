"""The MLflow model registry: logging and loading pipelines with skops, the champion alias, artefacts kept with a
version."""
