"""Data: reading tables (whole for training, in batches for scoring), writing them atomically, splitting for
validation."""
