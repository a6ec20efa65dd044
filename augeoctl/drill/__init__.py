"""Disaster-recovery drills that measure RTO and RPO under a live write workload."""
