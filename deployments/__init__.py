"""Entry points: the jido CLI, deployment builders and the demo."""
