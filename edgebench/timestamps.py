"""The one clock every record is stamped with: ISO-8601 UTC with microseconds.

Monitor samples, epoch starts and ends, attempts and log marks all use it, so a trace and the
epochs it is cut by compare as strings and parse alike. Board side: Python 3.8+.
"""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    """Return the current time as ISO-8601 UTC with microseconds (e.g. 2026-12-01T14:28:51.123456+00:00)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
