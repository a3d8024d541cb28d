"""Database storages: one per URL in a process, made once its URL is checked.

Each Optuna RDB storage holds its own pool of connections; made afresh for every look at a
study (a waiting worker looks twice a second), they ran a server out of connections.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import optuna
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState

from autoimb.engine.journal import journal_lost
from autoimb.exceptions import AutoImbError, DatabaseLost, StorageFailed, StorageNotOpened
from autoimb.redact import scrubbed, shown, userinfo

logger = logging.getLogger("autoimb")


CRASHES = "crashes"  # trial system attribute: how often a worker died running this strategy
MAX_CRASHES = 1  # a strategy whose worker died on it again may be what kills it: not retried


def queue_again(study: optuna.Study, trial: FrozenTrial, *, crashed: bool) -> bool:
    """Queue a stopped trial again with the parameters it drew, as Optuna's
    ``RetryHeartbeatStaleTrialCallback`` does (``failed_trial``, ``retry_history``), and say
    whether it was. Only crashes count towards the once-only limit: a trial the user stopped
    (Ctrl-C, SIGTERM) comes back whatever stopped its earlier runs, or its strategy is lost.
    A retry of an older version counts each of its retries as a crash."""
    earlier = list(trial.system_attrs.get("retry_history", []))
    crashes = int(trial.system_attrs.get(CRASHES, len(earlier))) + crashed
    if crashes > MAX_CRASHES:
        return False
    system_attrs = {
        "failed_trial": trial.number,
        **trial.system_attrs,
        "retry_history": [*earlier, trial.number],  # a copy: the trial read stays as it was
        CRASHES: crashes,
    }
    study.add_trial(
        optuna.create_trial(
            state=TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs=trial.user_attrs,
            system_attrs=system_attrs,
        )
    )
    return True


def retry_crashed(study: optuna.Study, trial: FrozenTrial) -> None:
    """The heartbeat's callback: a trial whose worker stopped beating is queued again."""
    queue_again(study, trial, crashed=True)


_OPENED: dict[tuple[str, int], RDBStorage] = {}
_OPENING = threading.Lock()


def database_storage(url: str, heartbeat: int) -> RDBStorage:
    """This process's storage for ``url`` beating every ``heartbeat`` seconds, made on first
    use; the beat is part of the storage, so a process holds one per beat it uses (two at
    most: the default it looks with, and its study's). An SQLite file is opened afresh each
    time: it uses no server's connections, and a file deleted and made again must not be
    written through a handle on the old one."""
    check_url(url)
    if url.startswith("sqlite"):
        if (database := sqlite_file(url)) is not None:
            _check_sqlite_file(url, database)
        return _opened(url, heartbeat)
    with _OPENING:
        opened = _OPENED.get((url, heartbeat))
        if opened is None:
            opened = _OPENED[(url, heartbeat)] = _opened(url, heartbeat)
        return opened


_SQLITE_HEADER = b"SQLite format 3\x00"  # the first bytes of every SQLite database file


def _check_sqlite_file(url: str, database: Path) -> None:
    """SQLite makes its file but not the folder, and opens a folder or another file's bytes
    only to fail at the first write: found there, each read as a database lost while the search
    ran, with its server to check. A file that is there is only read: a study may be read from
    a database that cannot be written."""
    where = f"storage {shown(url)}"
    if database.is_dir():
        raise StorageNotOpened(
            f"{where} names a folder; give an SQLite file's path in it, such as "
            f"sqlite:///{(database / 'study.db').as_posix()} (or a journal file path)."
        )
    folder = database.parent
    if not folder.is_dir():
        raise StorageNotOpened(
            f"{where}: the folder {str(folder)!r} does not exist; create it, or give an SQLite "
            "file in an existing folder (or a journal file path)."
        )
    if not database.exists() and not os.access(folder, os.W_OK):
        raise StorageNotOpened(
            f"{where}: cannot write in the folder {str(folder)!r}, where SQLite makes the file: "
            "give an SQLite file in a folder you can write, or make it writable (or give a "
            "journal file path)."
        )
    if database.is_file() and database.stat().st_size and not _is_sqlite(database):
        raise StorageNotOpened(
            f"{where}: {str(database)!r} is not an SQLite database; name a new file or an "
            "SQLite database (a journal file is given by its path alone, without sqlite:///)."
        )


def _is_sqlite(database: Path) -> bool:
    try:
        with database.open("rb") as file:
            return file.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
    except OSError:  # unreadable: SQLite's own error says so when it opens it
        return True


def _opened(url: str, heartbeat: int) -> RDBStorage:
    with warnings.catch_warnings():  # heartbeats are experimental in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return _rdb_storage(url, heartbeat)
        except Exception as exc:  # no driver, no server, a wrong password: the URL's
            raise StorageNotOpened(
                f"cannot open the database storage {shown(url)}: {driver_said(exc, url)}. "
                f"{_database_hint(url, exc)}"
            ) from exc


def _forget_in_child() -> None:
    """A forked child makes its own connections: two processes on one socket garble both."""
    global _OPENING
    _OPENING = threading.Lock()
    for opened in _OPENED.values():
        opened.engine.dispose(close=False)  # the parent's connections stay open, for it
    _OPENED.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


# A search and its workers started at once on an empty database all create Optuna's tables:
# all but one fail, and find the tables made when they try again.
TABLE_RACE_TRIES = 5
TABLE_RACE_PAUSE = 0.5  # seconds, growing with each try


def _rdb_storage(url: str, heartbeat: int) -> RDBStorage:
    def build() -> RDBStorage:
        return RDBStorage(
            url,
            heartbeat_interval=heartbeat,
            grace_period=3 * heartbeat,
            heartbeat_stale_trial_callback=retry_crashed,
            engine_kwargs={"pool_pre_ping": True} if not url.startswith("sqlite") else None,
        )

    for attempt in range(1, TABLE_RACE_TRIES):
        try:
            return build()
        except Exception as exc:
            if not _made_meanwhile(exc):
                raise
            logger.debug("another process was creating the study tables: trying again")
            time.sleep(TABLE_RACE_PAUSE * attempt)
    return build()


def _made_meanwhile(exc: BaseException | None) -> bool:
    """Whether creating a table failed because another process created it at the same moment
    (PostgreSQL reports a duplicate type or relation, or a deadlock between the two)."""
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError):  # Optuna wraps some in a StorageInternalError
        return exc is not None and _made_meanwhile(exc.__cause__)
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in {"23505", "42P07", "42710", "40P01"} or "already exists" in str(exc.orig)


_ENCODED = (
    "Write it postgresql://user:password@host:port/database, with any @, / or : in the user "
    "name or password percent-encoded (@ as %40, / as %2F, : as %3A)."
)


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names; None for another database, or SQLite in memory."""
    from sqlalchemy.engine import make_url

    if not url.startswith("sqlite"):
        return None
    check_url(url)
    database = make_url(url).database
    return None if not database or database == ":memory:" else Path(database)


def check_url(url: str) -> None:
    """A URL SQLAlchemy cannot parse is refused as such: its own error quotes the piece it
    choked on, often a piece of a password with an ``@``, ``/`` or ``:`` in it. So is one whose
    user name or password holds an ``@`` or ``/`` as it is: SQLAlchemy ends the password at the
    first ``@``, and the driver quotes the rest back as the host it could not find."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if any(c in userinfo(url) for c in "@/"):
        raise AutoImbError(
            f"cannot open the database storage {shown(url)}: its URL could not be parsed as "
            "meant, for its user name or password holds an @ or / as it is (a piece of the "
            f"password would be taken for the host). {_ENCODED}"
        )
    try:
        make_url(url)
    except (ValueError, ArgumentError):
        raise AutoImbError(
            f"cannot open the database storage {shown(url)}: its URL could not be parsed. "
            f"{_ENCODED}"
        ) from None


def _database_hint(url: str, exc: Exception) -> str:
    """What to do about a database URL that did not open: its name, its driver, its server."""
    if url.startswith("postgres://"):
        return "Write it postgresql://…, the name SQLAlchemy knows."
    if type(exc).__name__ == "NoSuchModuleError":
        return (
            "SQLAlchemy knows no database of that name: give postgresql://, "
            "mysql+pymysql://, sqlite:/// or a journal file path."
        )
    if isinstance(exc, ImportError):
        module = _missing_module(exc)
        package = _DRIVERS.get(module.split(".")[0])
        if package is None:
            return (
                f"Its driver is missing ({exc}): install it, or give a journal file path instead."
            )
        return (
            f"Its driver, the module {module}, is missing: pip install '{package}'"
            f"{_POSTGRES_EXTRA if module.startswith('psycopg') else ''}, or give a journal file "
            "path instead."
        )
    if hint := _cause_hint(driver_said(exc, url)):
        return hint
    if url.startswith("sqlite"):
        return "Check that the file's folder exists and can be written, or give a journal file."
    return (
        "Check that the server runs and that the URL names it "
        "(postgresql://user:password@host:port/database), or give a journal file path instead."
    )


def _missing_module(exc: BaseException) -> str:
    """The module an import failed on, through Optuna's own ImportError around the driver's."""
    seen: BaseException | None = exc
    for _ in range(8):  # a chain, not a cycle
        if seen is None:
            break
        if isinstance(seen, ImportError) and seen.name:
            return seen.name
        seen = seen.__cause__ or seen.__context__
    return ""


# The package of each driver module SQLAlchemy imports for a URL (postgresql:// takes
# psycopg from SQLAlchemy 2.1, psycopg2 before; postgresql+psycopg:// names it).
_DRIVERS = {
    "psycopg": "psycopg[binary]",
    "psycopg2": "psycopg2-binary",
    "pymysql": "PyMySQL",
    "MySQLdb": "mysqlclient",
    "pg8000": "pg8000",
}
_POSTGRES_EXTRA = (
    " (autoimb's postgres extra installs psycopg; with it, postgresql+psycopg:// uses it "
    "whatever SQLAlchemy's version)"
)


def _check_what(storage: object) -> str:
    """What to check of a database that failed under a search: an SQLite file has no server."""
    if str(storage).startswith("sqlite"):
        return "Check that the SQLite file and its folder are still there and can be written."
    return "Check that its server runs and can be reached from here."


def _cause_hint(said: str) -> str | None:
    """What to do about what the server or driver said, where it tells."""
    text = said.lower()
    if any(s in text for s in ("too many clients", "too many connections", "connection slots")):
        return (
            "The server has no connection left for it: raise the server's max_connections, "
            "or run fewer workers at once (each holds a few)."
        )
    if any(s in text for s in ("authentication failed", "access denied", "no password supplied")):
        return "Check the user name and password in the URL."
    if "database" in text and "does not exist" in text:
        return "Create the database first (CREATE DATABASE …), or name one that exists."
    if "not currently accepting connections" in text:
        return "The database takes no connections now: allow them again, or name another one."
    if any(s in text for s in ("host name", "resolve host", "name or service not known")):
        return "Check the host name in the URL."
    if any(s in text for s in ("disk is full", "no space left", "disk full")):
        return "Its disk is full: free some space on it."
    if "readonly database" in text:
        return "The SQLite file or its folder cannot be written: make them writable."
    if "database is locked" in text:
        return "SQLite lets one process write at a time: give several processes a journal file."
    return None


def driver_said(exc: BaseException, storage: object) -> str:
    """The database driver's own error beneath Optuna's and SQLAlchemy's wrappers, on one
    line and without a piece of the password: Optuna's guess ("e.g. exceeding max length")
    hides a lost connection."""
    from sqlalchemy.exc import DBAPIError

    found: BaseException = exc
    while found.__cause__ is not None:  # a missing driver: the module it looked for
        found = found.__cause__
    for link in _chain(exc):
        if isinstance(link, DBAPIError):
            found = link.orig if link.orig is not None else link
            break
    said = " ".join(str(found).split("(Background on this error")[0].split())
    return f"{type(found).__name__}: {scrubbed(said, storage)[:400].rstrip(' .')}"


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and what it was raised from or while handling, each once."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def storage_failed(exc: BaseException) -> bool:
    """Whether ``exc`` came of the database storage failing (its server gone, a connection cut,
    none left to take), however Optuna wrapped it."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    return any(
        isinstance(link, OperationalError | InterfaceError)
        or (isinstance(link, DBAPIError) and link.connection_invalidated)
        for link in _chain(exc)
    )


@contextlib.contextmanager
def explained(storage: object) -> Iterator[None]:
    """A storage failing in or out of Optuna's loop (the study read after the last trial, the
    refit's look at the trials) stops with a plain error (:func:`lost`): the driver's or the
    system's words and the fix, not a wrapped traceback."""
    try:
        yield
    except Exception as exc:
        if storage is not None and (failed := lost(storage, exc)):
            raise failed from None
        raise


def lost(storage: object, exc: BaseException) -> StorageFailed | None:
    """The error a search stops with when its storage failed under it with ``exc`` (a database
    out of reach, a journal file that cannot be written); None for another error, and for a
    storage that could not be opened as the search started (its error names the fix)."""
    if isinstance(exc, StorageNotOpened):
        return None
    if not storage_failed(exc):
        return journal_lost(storage, exc)
    said = driver_said(exc, storage)
    if "does not exist" in said:  # dropped under the search: its trials went with it
        return DatabaseLost(
            f"the database storage {shown(storage)} was removed while the search ran ({said}); "
            "the search stopped. Create the database again to start the study afresh."
        )
    return DatabaseLost(
        f"the database storage {shown(storage)} failed while the search ran ({said}); the "
        "search stopped, and every trial that finished before is kept in the database. "
        f"{_cause_hint(said) or _check_what(storage)} "
        "Then run the same command again to go on."
    )
