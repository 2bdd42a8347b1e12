"""Typed contracts shared by every Touchstream stage: events, channels, topics, tables, settings."""
