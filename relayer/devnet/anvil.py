"""Start and stop real anvil processes (the platform binary, never the npm Node wrapper).

Each process gets its own chain id, loopback port and log file; `AnvilProcess.pid` is anvil's
own PID, so stopping it stops exactly that chain.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from relayer.errors import ChainError
from relayer.tools import anvil_binary

# anvil's default mnemonic ("test test ... junk") accounts, used only on devnets.
DEV_MNEMONIC = "test test test test test test test test test test test junk"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rpc(url: str, method: str, params: list | None = None, timeout: float = 2.0) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        reply = json.loads(resp.read())
    if "error" in reply:
        raise ChainError(f"{url} {method}: {reply['error']}")
    return reply["result"]


@dataclass
class AnvilProcess:
    chain_id: int
    port: int
    pid: int
    log_path: Path
    popen: subprocess.Popen | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def is_alive(self) -> bool:
        return pid_alive(self.pid)

    def stop(self, timeout: float = 10.0) -> None:
        stop_pid(self.pid, timeout)
        if self.popen is not None:
            try:
                self.popen.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0); look at its state
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    if not pid_alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def start_anvil(
    chain_id: int,
    port: int | None = None,
    log_dir: Path | str = ".",
    fork_url: str | None = None,
    block_time: float | None = None,
    extra_args: list[str] | None = None,
    startup_timeout: float = 30.0,
    detach: bool = False,
) -> AnvilProcess:
    """Start one anvil and wait until it answers eth_chainId with the right id.

    detach=True starts it in its own session (it outlives this Python process: `devnet up`).
    """
    port = port or free_port()
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"anvil-{chain_id}-{port}.log"
    cmd = [
        str(anvil_binary()),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chain-id", str(chain_id),
        "--mnemonic", DEV_MNEMONIC,
        "--accounts", "10",
        "--balance", "100000",
    ]
    if fork_url:
        cmd += ["--fork-url", fork_url]
    if block_time:
        cmd += ["--block-time", str(block_time)]
    cmd += list(extra_args or [])
    log = open(log_path, "ab")
    popen = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=detach
    )
    log.close()
    proc = AnvilProcess(chain_id=chain_id, port=port, pid=popen.pid, log_path=log_path, popen=popen)
    deadline = time.monotonic() + startup_timeout
    last_err: Exception | None = None
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise ChainError(f"anvil (chain {chain_id}, port {port}) exited with {popen.returncode}; see {log_path}")
        try:
            got = int(str(_rpc(proc.rpc_url, "eth_chainId")), 16)
            if got != chain_id:
                proc.stop()
                raise ChainError(f"anvil on port {port} reports chain id {got}, expected {chain_id}")
            return proc
        except (OSError, ValueError) as exc:
            last_err = exc
            time.sleep(0.05)
    proc.stop()
    raise ChainError(f"anvil (chain {chain_id}, port {port}) did not answer within {startup_timeout}s: {last_err}; see {log_path}")
