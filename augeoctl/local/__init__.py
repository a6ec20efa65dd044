"""The local sandbox: real PostgreSQL, Redis and the reference service on loopback."""
