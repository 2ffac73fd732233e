"""The data contract a model is registered with, the checks of scoring input against it, and drift from the training
data."""
