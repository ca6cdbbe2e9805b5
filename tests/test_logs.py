"""Log set-up: level and format from flags, -v, RELAYER_LOG_LEVEL / RELAYER_LOG_FORMAT; JSON lines with
the record's fields; bad values refused naming where they came from."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from relayer import logs
from relayer.errors import ConfigError


def test_level_precedence() -> None:
    env = {"RELAYER_LOG_LEVEL": "error", "RELAYER_LOG_FORMAT": "JSON"}
    assert logs.resolve("debug", None, 0, "WARNING", env) == (logging.DEBUG, "json")
    assert logs.resolve(None, "text", 1, "WARNING", env) == (logging.INFO, "text")
    assert logs.resolve(None, None, 2, "WARNING", env)[0] == logging.DEBUG
    assert logs.resolve(None, None, 0, "WARNING", env)[0] == logging.ERROR
    assert logs.resolve(None, None, 0, "INFO", {}) == (logging.INFO, "text")


@pytest.mark.parametrize("args,needle", [
    (("loud", None, {}), "--log-level = 'loud'"),
    ((None, None, {"RELAYER_LOG_LEVEL": "verbose"}), "RELAYER_LOG_LEVEL = 'verbose'"),
    ((None, None, {"RELAYER_LOG_FORMAT": "xml"}), "RELAYER_LOG_FORMAT = 'xml'"),
    ((None, "yaml", {}), "--log-format = 'yaml'"),
])
def test_bad_values_are_refused_naming_the_source(args: tuple, needle: str) -> None:  # type: ignore[type-arg]
    level, fmt, env = args
    with pytest.raises(ConfigError, match="is not a log"):
        logs.resolve(level, fmt, 0, "WARNING", env)
    try:
        logs.resolve(level, fmt, 0, "WARNING", env)
    except ConfigError as exc:
        assert needle in str(exc)


def test_json_formatter_fields_extra_and_traceback() -> None:
    f = logs.JsonFormatter()
    rec = logging.LogRecord("relayer.pipeline", logging.INFO, __file__, 1, "round %d: %s", (7, "publishing"), None)
    rec.chain = "devnet-0"  # what extra={"chain": ...} does
    out = json.loads(f.format(rec))
    assert out["level"] == "INFO" and out["logger"] == "relayer.pipeline" and out["msg"] == "round 7: publishing"
    assert out["chain"] == "devnet-0" and out["ts"].endswith("Z") and "exc" not in out
    try:
        raise ValueError("bad row 3")
    except ValueError:
        rec = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    out = json.loads(f.format(rec))
    assert "ValueError: bad row 3" in out["exc"]
    rec = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    rec.path = Path("/a/b")  # not JSON-native: written as str
    assert json.loads(f.format(rec))["path"] == "/a/b"


def _relayer(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "relayer.cli.main", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def test_cli_writes_json_log_lines(tmp_path: Path) -> None:
    res = _relayer("--log-format", "json", "circuit", "setup", "--out", str(tmp_path / "c"), "--accounts", "2",
                   "--instruments", "1", "--scenarios", "1")
    assert res.returncode == 0, res.stderr
    lines = [json.loads(ln) for ln in res.stderr.splitlines() if ln.startswith("{")]
    assert any(x["level"] == "WARNING" and x["logger"] == "relayer.keys_setup" and "development setup" in x["msg"]
               for x in lines), res.stderr


def test_cli_refuses_a_bad_log_level_from_the_environment() -> None:
    res = _relayer("status", "-c", "/nonexistent/chains.toml", env={"RELAYER_LOG_LEVEL": "loud"})
    assert res.returncode == 2 and "RELAYER_LOG_LEVEL = 'loud' is not a log level" in res.stderr, res
