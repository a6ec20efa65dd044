"""Releases, written once over the release seam (``backends.release.ReleaseBackend``):
status, deploy with its health gate, promote with its watch and automatic swap back,
rollback against its objective. ``backends.slot_probe`` reads the slots over HTTP; ``ops`` runs the
operations and returns frozen results; the verdicts are pure functions of them."""
