"""Errors that reach the user as one line (exit status 2), never as a traceback."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: the message names the problem and the fix."""
