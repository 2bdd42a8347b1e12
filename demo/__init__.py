"""Seeded B2B demo traffic: simulation, collector requests, sender and files."""

from __future__ import annotations

from demo.model import SimEvent, Simulation, simulate
from demo.truth import GroundTruth, Journey

__all__ = ["GroundTruth", "Journey", "SimEvent", "Simulation", "simulate"]
