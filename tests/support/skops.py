"""What the tests check every saved pipeline against: the registry's reviewed skops types."""

from __future__ import annotations

from components.registry.skops import REVIEWED_TRUSTED_TYPES, import_skops


def trusted_types_for(pipeline) -> list[str]:
    """The skops types ``pipeline`` needs trusted, checked against the reviewed list.

    Raises:
        RuntimeError: the pipeline holds a type nobody has reviewed.
    """
    skops_io = import_skops()
    untrusted = skops_io.get_untrusted_types(data=skops_io.dumps(pipeline))
    unreviewed = sorted(set(untrusted) - set(REVIEWED_TRUSTED_TYPES))
    if unreviewed:
        raise RuntimeError(f"the pipeline holds types not on the reviewed skops list: {', '.join(unreviewed)}")
    return sorted(untrusted)
