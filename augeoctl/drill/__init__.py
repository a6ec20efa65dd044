"""Disaster-recovery drills that measure RTO and RPO under a live write workload.

``orchestrator`` runs a drill's phases on any platform; ``scenario`` defines what a
scenario is and ``scenarios`` which ones each platform has (``local``: damage to the
sandbox; ``azure``: marked disasters restored to a new server); ``context`` is the typed
state of a run, ``workload`` the writers, ``integrity`` the pure comparison of their
acknowledged writes with the recovered data, ``model`` the report and its verdict,
``history`` the kept reports, and ``journal`` what a running drill did to the sandbox, so
that one that never finished can be repaired.
"""
