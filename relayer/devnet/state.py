"""The devnet state file (`<dir>/devnet.json`) and the identity checks that make `devnet down` stop
exactly the anvil processes it recorded, never a process that merely reuses one of their PIDs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

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


def process_start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks since boot); None if unknown.
    Together with the PID it identifies one process for the machine's uptime."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # the command name (field 2) may contain spaces and parentheses: split after the last ')'
    rest = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(rest[19])  # fields 3.. start at index 0, so field 22 is index 19
    except (IndexError, ValueError):
        return None


def process_cmdline(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return [p.decode(errors="replace") for p in raw.split(b"\0") if p]


@dataclass(frozen=True)
class Identity:
    status: Literal["ours", "dead", "foreign"]
    detail: str


def identify_anvil(pid: int, port: int, start_ticks: int | None) -> Identity:
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
    if start_ticks is not None and process_start_ticks(pid) != start_ticks:
        return Identity("foreign", f"PID {pid} is an anvil started at another time (PID reused)")
    return Identity("ours", f"anvil PID {pid} on port {port}")
