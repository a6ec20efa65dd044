"""Email DNS auditing: SPF, DKIM, DMARC, MX, Azure Communication Services, drift, TLS.

Library code: no click, no printing. ``audit.run_audit`` builds an ``AuditReport`` of
``Finding`` values; ``findings.verdict`` is the pure verdict over them.
"""
