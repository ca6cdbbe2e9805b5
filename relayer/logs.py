"""Log set-up for the `relayer` command: plain text for a terminal, or one JSON object per line for a
log collector (SPEC §6 "structured logs"); level and format from flags or RELAYER_LOG_LEVEL /
RELAYER_LOG_FORMAT."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import Any

from relayer.errors import ConfigError

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# attributes every LogRecord has; anything else on a record came from `extra=` and is kept as a field
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts (UTC, ISO 8601 with ms), level, logger, msg, the `extra=` fields,
    and exc (the traceback) when there is one. Values JSON cannot hold are written as their str()."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in vars(record).items():
            if k not in _STANDARD and k not in out:
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def resolve(level: str | None, fmt: str | None, verbose: int, default_level: str,
            env: Mapping[str, str]) -> tuple[int, str]:
    """(logging level, format). The level: --log-level, else -v/-vv (info/debug), else
    RELAYER_LOG_LEVEL, else `default_level`; the format: --log-format, else RELAYER_LOG_FORMAT, else text.
    A value that is not a level or format name is a ConfigError naming where it came from."""
    if level is not None:
        name, where = level, "--log-level"
    elif verbose:
        name, where = ("INFO" if verbose == 1 else "DEBUG"), "-v"
    elif env.get("RELAYER_LOG_LEVEL"):
        name, where = env["RELAYER_LOG_LEVEL"], "RELAYER_LOG_LEVEL"
    else:
        name, where = default_level, "default"
    if name.strip().upper() not in LEVELS:
        raise ConfigError(f"{where} = {name!r} is not a log level ({', '.join(LEVELS)})")
    f, fwhere = (fmt, "--log-format") if fmt is not None else (env.get("RELAYER_LOG_FORMAT") or "text", "RELAYER_LOG_FORMAT")
    if f.strip().lower() not in FORMATS:
        raise ConfigError(f"{fwhere} = {f!r} is not a log format ({', '.join(FORMATS)})")
    return getattr(logging, name.strip().upper()), f.strip().lower()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at each record (a test runner or a daemon may swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure(level: int, fmt: str) -> None:
    """Route the root logger to stderr at `level` in `fmt`. Calling it again replaces the handler it
    installed before; handlers others installed (a test runner's) stay."""
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, _StderrHandler):
            root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
