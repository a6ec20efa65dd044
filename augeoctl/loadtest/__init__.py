"""Load tests: Locust runs with SLO gates evaluated from its statistics."""
