"""Search spaces and samplers."""

from components.search.space import Choice, Distribution, FloatRange, IntRange, Normal, parse_distribution

__all__ = ["Choice", "Distribution", "FloatRange", "IntRange", "Normal", "parse_distribution"]
