"""The devnet state file (`<dir>/devnet.json`) and the identity checks that make `devnet down` stop
exactly the anvil processes it recorded, never a process that merely reuses one of their PIDs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psutil

from relayer.devnet.anvil import pid_alive
from relayer.errors import ConfigError

STATE_FILE = "devnet.json"
STATE_VERSION = 1


def state_path(devnet_dir: Path) -> Path:
    return devnet_dir / STATE_FILE


def read_state(devnet_dir: Path) -> dict[str, Any] | None:
    """The recorded state, or None when there is no state file."""
    path = state_path(devnet_dir)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable devnet state ({exc}); stop any anvil it started by PID and delete "
                          "the file") from None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION or not isinstance(data.get("chains"), list):
        raise ConfigError(f"{path}: not a version-{STATE_VERSION} devnet state file; stop its anvils by PID and delete it")
    return data


def write_state(devnet_dir: Path, data: dict[str, Any]) -> Path:
    """Write atomically, so a crash mid-write never leaves a state file that hides live PIDs."""
    path = state_path(devnet_dir)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)
    return path


def process_start_time(pid: int) -> float | None:
    """When `pid` started (seconds since the epoch, as psutil reads it from /proc/PID/stat on
    Linux); None if unknown. Together with the PID it identifies one process."""
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError):
        return None


def process_cmdline(pid: int) -> list[str] | None:
    """argv of `pid` (/proc/PID/cmdline on Linux); None when it cannot be read."""
    try:
        return list(psutil.Process(pid).cmdline())
    except (psutil.Error, OSError):
        return None


# psutil derives the start time from boot time + clock ticks: equal to within a tick
_START_TIME_TOLERANCE_S = 0.05


@dataclass(frozen=True)
class Identity:
    status: Literal["ours", "dead", "foreign"]
    detail: str


def identify_anvil(pid: int, port: int, started_at: float | None) -> Identity:
    """Is `pid` still the anvil we started on `port`? Refuses anything it cannot prove."""
    if not pid_alive(pid):
        return Identity("dead", f"PID {pid} is not running")
    argv = process_cmdline(pid)
    if argv is None:
        return Identity("foreign", f"cannot read /proc/{pid}/cmdline")
    if not argv or Path(argv[0]).name != "anvil":
        return Identity("foreign", f"PID {pid} is now {' '.join(argv)[:120]!r}, not anvil")
    try:
        got_port = int(argv[argv.index("--port") + 1])
    except (ValueError, IndexError):
        got_port = None
    if got_port != port:
        return Identity("foreign", f"PID {pid} is an anvil on port {got_port}, not the recorded {port}")
    now_started = process_start_time(pid)
    if started_at is not None and (now_started is None or abs(now_started - started_at) > _START_TIME_TOLERANCE_S):
        return Identity("foreign", f"PID {pid} is an anvil started at another time (PID reused)")
    return Identity("ours", f"anvil PID {pid} on port {port}")
