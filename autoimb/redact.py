"""Storage URLs and paths fit for a message or a log, which go to shared servers: a database
password is never shown."""

from __future__ import annotations

import re
from typing import Any


def shown(storage: Any) -> str:
    """A storage fit for a message or a log: a database URL's password, if any, left out (it
    may hold "/" or "@": the user part ends at the last "@" before the host)."""
    text = str(storage)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    rest = re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", rest)  # a password as a parameter
    at = rest.partition("?")[0].rfind("@")
    if at < 0 or ":" not in rest[:at]:
        return f"{scheme}://{rest}"
    user = rest[:at].split(":", 1)[0]
    return f"{scheme}://{user}:***{rest[at:]}"
