"""Where the pinned external tools live (installed by scripts/bootstrap into tools/node_modules)."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

from relayer.errors import ToolError

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS_DIR = Path(os.environ.get("RELAYER_TOOLS_DIR", REPO_ROOT / "tools"))
NODE_MODULES = TOOLS_DIR / "node_modules"

_BOOTSTRAP_HINT = "run ./scripts/bootstrap from the repository root to install the pinned tools"


def _platform_pkg() -> str:
    machine = platform.machine().lower()
    system = platform.system().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{system}-{arch}"


def anvil_binary() -> Path:
    """The real anvil binary (not the npm Node wrapper, whose PID would not be anvil's)."""
    override = os.environ.get("RELAYER_ANVIL")
    if override:
        return Path(override)
    path = NODE_MODULES / "@foundry-rs" / f"anvil-{_platform_pkg()}" / "bin" / "anvil"
    if not path.exists():
        raise ToolError(f"anvil binary not found at {path}; {_BOOTSTRAP_HINT}")
    return path


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise ToolError("node (Node.js) is not on PATH; install Node.js >= 18")
    return node


def npm_script(package_rel: str) -> Path:
    """Path of a JS entry point inside tools/node_modules (e.g. 'snarkjs/build/cli.cjs')."""
    path = NODE_MODULES / package_rel
    if not path.exists():
        raise ToolError(f"{path} not found; {_BOOTSTRAP_HINT}")
    return path


def snarkjs_cmd() -> list[str]:
    return [node_binary(), str(npm_script("snarkjs/build/cli.cjs"))]


def circom_cmd() -> list[str]:
    return [node_binary(), str(npm_script("circom2/cli.js"))]


def solcjs_cmd() -> list[str]:
    return [node_binary(), str(npm_script("solc/solc.js"))]
