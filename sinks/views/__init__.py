"""Analyst views: one ``<view_name>.sql`` each, its current ``CREATE OR REPLACE VIEW`` definition.

Applied on every :func:`sinks.migrate.apply_migrations` call, after the numbered migrations, in
dependency order (:mod:`sinks.view_files`). Change a view by editing its file; no new migration.
"""
