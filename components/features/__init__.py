"""Featurization of tables: column profiles, jido's featurizer, the boosters' native one, and request rows without
pandas."""
