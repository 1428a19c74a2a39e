"""Arguments more than one command takes, spelled once."""

from __future__ import annotations

import argparse

from ..testing._simulator._providers import SIMULATED

__all__ = ["add_simulated_provider"]


def add_simulated_provider(parser: argparse.ArgumentParser) -> None:
    """``--provider``: whose protocol a simulated caller speaks."""
    parser.add_argument(
        "--provider",
        default="plivo",
        choices=list(SIMULATED),
        help="whose protocol to speak (default plivo)",
    )
