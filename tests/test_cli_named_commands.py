"""Every `relayer ...` command that the code's messages, the README and the docs tell a user to run
exists: a renamed command must not leave an error message pointing at nothing."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from relayer.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "relayer").rglob("*.py"), ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
# a backticked command line: `relayer word word --flag ...` (the words up to the first option or argument)
NAMED = re.compile(r"`relayer((?: [a-z][a-z0-9-]*)+)")


def named_commands() -> list[tuple[str, str]]:
    out = set()
    for f in SOURCES:
        for m in NAMED.finditer(f.read_text()):
            out.add((" ".join(m.group(1).split()), str(f.relative_to(ROOT))))
    return sorted(out)


def resolve(words: list[str]) -> str | None:
    """None when `relayer <words...>` names a command (extra words after a leaf command are its
    arguments); otherwise what is missing."""
    cmd: click.Command = cli
    ctx = click.Context(cli)
    for w in words:
        if not isinstance(cmd, click.Group):
            return None  # a leaf: the rest are its arguments
        sub = cmd.get_command(ctx, w)
        if sub is None:
            return f"{cmd.name or 'relayer'} has no command {w!r} (it has: {', '.join(cmd.list_commands(ctx))})"
        cmd = sub
    return None


def test_the_scan_finds_commands() -> None:
    names = {n for n, _ in named_commands()}
    assert {"run", "status", "circuit setup", "devnet up"} <= names, names


@pytest.mark.parametrize("named,where", named_commands())
def test_named_command_exists(named: str, where: str) -> None:
    problem = resolve(named.split())
    assert problem is None, f"{where} tells the user to run `relayer {named}`: {problem}"


def test_a_missing_command_is_caught() -> None:
    assert resolve(["setup", "solvency"]) is not None
    assert resolve(["circuit", "setup"]) is None
