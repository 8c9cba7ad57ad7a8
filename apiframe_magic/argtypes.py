"""Command-line argument types shared by `apiframe-magic` and `python -m apiframe_magic.simulator`.

A vocabulary leaf (standard library and `settings` only) so that the simulator's command line and
the CLI, which serves the simulator as one of its commands, read their options the same way
without importing each other. A bad value is one line and exit code 2.
"""
from __future__ import annotations

import argparse

from .errors import InvalidArgumentError
from .settings import check_sim_speed


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (what is wrong, and where to look) and exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def whole_number(minimum: int, maximum: int | None = None):
    """An argument type: a whole number from `minimum` to `maximum` (no upper bound if None)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {value}")
        return value
    parse.__name__ = "whole number"
    return parse


def positive_speed(text: str) -> float:
    """A clock speed: a finite number > 0 (10 means ten simulated seconds per real second)."""
    try:
        return check_sim_speed(text, "speed")
    except InvalidArgumentError:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}") from None


positive_speed.__name__ = "speed"
port_number = whole_number(0, 65535)
at_least_one = whole_number(1)
