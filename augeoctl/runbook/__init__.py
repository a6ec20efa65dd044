"""Runbooks: Markdown files whose tagged shell blocks are steps, run in order with records.

``model`` reads a runbook (steps, captures, required sections); ``run`` runs its steps
for one environment and keeps the run record under ``AUGEO_HOME/runbook-runs``.
"""
