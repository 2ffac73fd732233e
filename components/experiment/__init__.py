"""One experiment's parts: a trial, its result, the leaderboard, ensembles of trials, the time budget and MLflow
tracking.

Kept free of imports: the sweep's recorder process imports ``components.experiment.tracking`` only.
"""
