"""Backends behind the one seam per external system: PostgreSQL and Redis, each with a
``local`` and an ``azure`` implementation of ``backends.base``. ``augeoctl.platform`` chooses."""
