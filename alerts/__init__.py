"""Alerting: pipeline-velocity and intake drops, stream lag, and their delivery."""
