"""Benchmarks: OR-Library readers and benchmark loop (:mod:`.orlib`), instance generator (:mod:`.generate`)."""

from __future__ import annotations

__all__ = ["orlib", "generate"]
