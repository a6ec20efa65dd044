"""A reusable fake Azure Resource Manager on loopback (see ``tests.fakearm.server``)."""
