"""The reference service: a small FastAPI app standing in for the Augeo backend.

It serves the platform's health endpoints and a few API-like endpoints over the
sandbox's PostgreSQL and Redis, so drills, load tests and the dashboard exercise a real
service. Imported only when it is run: the CLI does not load FastAPI.
"""
