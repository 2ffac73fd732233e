"""The sweep: its loop (``loop``), where trials go (``placement``), when they line up (``lining``), the trials in flight
(``inflight``), stopping them (``stopping``), the recorder (``recorder``) and the Prefect artifacts (``progress``).

Kept free of imports: the recorder's own process imports ``tasks.sweep.recorder`` only.
"""
