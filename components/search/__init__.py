"""Search spaces and samplers."""

from components.search.space import Choice, Distribution, FloatRange, IntRange

__all__ = ["Choice", "Distribution", "FloatRange", "IntRange"]
