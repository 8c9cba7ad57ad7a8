"""Offline simulator of APIFRAME's Midjourney v1 API (see shared/spec/apiframe-v1.md).

A real HTTP server on 127.0.0.1 with the same endpoints, validation, error bodies, task life
cycle, webhooks and credits as the service, procedural PNGs served from its own address, and
fault injection for tests. Standard library + Pillow only.

    from apiframe_magic.simulator import Simulator, Faults
    with Simulator(speed=100) as sim:      # sim.url, sim.api_key ("sim-key")
        ...
"""
from __future__ import annotations

from .app import DEFAULT_API_KEY, Simulator
from .faults import Faults

__all__ = ["Simulator", "Faults", "DEFAULT_API_KEY"]
