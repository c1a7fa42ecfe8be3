"""The one error type for failures a user can fix (bad input, a damaged file, a server outage).

The CLI prints any `SeedfactoryError` as one line and exits 2; anything else is a bug and keeps
its traceback. Every package may import this (it imports nothing of ours).
"""

from __future__ import annotations


class SeedfactoryError(Exception):
    """A failure the user can act on; the message names the file, key or server involved."""
