"""Storage URLs and paths fit for a message or a log, which go to shared servers: a database
password is never shown."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

# A user name and password as SQLAlchemy reads them: the password runs to the first "@",
# past any "?" or "/" in it.
_AS_SQLALCHEMY_READS = re.compile(r"[^:/@]*:[^@]*@")


def shown(storage: Any) -> str:
    """A storage fit for a message or a log: a database URL's password, if any, left out (it
    may hold "/" or "@": the user part ends at the last "@" before the host)."""
    text = str(storage)
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    rest = re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", rest)  # a password as a parameter
    at = rest.partition("?")[0].rfind("@")
    if read := _AS_SQLALCHEMY_READS.match(rest):  # its password runs on past a "?"
        at = max(at, read.end() - 1)
    if at < 0 or ":" not in rest[:at]:
        return f"{scheme}://{rest}"
    user = rest[:at].split(":", 1)[0]
    return f"{scheme}://{user}:***{rest[at:]}"


def userinfo(storage: Any) -> str:
    """A database URL's user name and password as written (up to the host's "@"); empty for
    none, and for a file path or an SQLite URL, whose path may hold an "@"."""
    _, sep, rest = str(storage).partition("://")
    at = rest.partition("?")[0].rfind("@")
    if sep and (read := _AS_SQLALCHEMY_READS.match(rest)):
        at = max(at, read.end() - 1)
    return rest[:at] if sep and at > 0 and not rest.startswith("/") else ""


def scrubbed(text: str, storage: Any) -> str:
    """A driver's message fit to pass on: the URL shown without its password, and any piece
    of the password left out (one cut at an "@" and taken for a host name is quoted back)."""
    text = text.replace(str(storage), shown(storage))
    written = userinfo(storage).partition(":")[2]
    asked = re.findall(r"(?i)[?&]password=([^&]*)", str(storage))
    pieces: set[str] = set()
    for secret in (written, *asked):
        for form in (secret, unquote(secret)):
            pieces |= {form, *re.split(r"[@/:]", form)}
    for piece in sorted((p for p in pieces if len(p) >= 3), key=len, reverse=True):
        text = text.replace(piece, "***")
    return text
