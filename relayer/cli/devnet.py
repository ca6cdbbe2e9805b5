"""`relayer devnet up|down|status`: local multi-chain devnets on real anvil processes."""

from __future__ import annotations

import json
import signal
import threading
import types
from pathlib import Path
from typing import Any

import click

from relayer.devnet.keys import DEV_KEYSTORE_PASSWORD
from relayer.devnet.manager import (
    CONFIG_FILE,
    DEFAULT_BASE_PORT,
    DEFAULT_DIR,
    MAX_BLOCK_TIME_S,
    devnet_down,
    devnet_up,
    password_hint,
)
from relayer.devnet.state import identify_anvil, read_state
from relayer.errors import ChainError

_DIR_OPTION = click.option(
    "--dir", "devnet_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DIR, show_default=True,
    help="Folder for the state file, logs, keystores, the generated chains.toml and the relayer's relayer.db.",
)


@click.group()
def devnet() -> None:
    """Local multi-chain devnets (anvil) with the venue's contracts deployed and seeded."""


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _fmt_units(amount: int, decimals: int) -> str:
    # exact decimal rendering of an integer amount (no float on the way)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**decimals)
    frac_s = str(frac).rjust(decimals, "0").rstrip("0") if decimals else ""
    return f"{sign}{whole:,}" + (f".{frac_s}" if frac_s else "")


def describe(state: dict[str, Any]) -> str:
    """Human-readable tables of what is deployed where."""
    chains = state["chains"]
    out = [_table(
        [[c["name"], str(c["chain_id"]), c["rpc_url"], str(c["pid"]), c["deployment"]["contracts"]["vault"],
          c["deployment"]["contracts"]["feed"], c["deployment"]["contracts"]["guard"]] for c in chains],
        ["chain", "id", "rpc", "anvil pid", "CollateralVault", "SolvencyFeed", "LendingGuard"],
    ), ""]
    asset_rows = []
    for c in chains:
        for a in c["deployment"]["assets"]:
            asset_rows.append([c["name"], a["symbol"], a["token"], a["price_feed"],
                               _fmt_units(int(a["price_e8"]), 8), str(a["haircut_bps"]),
                               _fmt_units(int(a["total_deposited"]), int(a["decimals"]))])
    out += [_table(asset_rows, ["chain", "asset", "token", "price feed", "price USD", "haircut bps", "vault holds"]), ""]
    bt = state.get("block_time_s")  # absent in a devnet.json written before --block-time existed
    out.append(f"mining: a block every {bt} s, with or without transactions (anvil --block-time)" if bt
               else "mining: automine (one block per transaction, none without)")
    ops = ", ".join(o["address"] for o in state["operators"])
    out.append(f"operators (feed signers, quorum {state['quorum']} of {len(state['operators'])}): {ops}")
    pw = (f"the devnet's documented {DEV_KEYSTORE_PASSWORD!r}" if state.get("default_dev_password")
          else f"the one in ${state['password_env']} when `devnet up` ran")
    out.append(f"keystores: {Path(state['dir']) / 'keys'}  password: {pw}; `relayer round`/`run` read it from "
               f"${state['password_env']} only")
    verifiers = {c["deployment"]["contracts"]["verifier"] for c in chains}
    if verifiers == {"0x" + "0" * 40}:
        out.append("proof verifier: not deployed yet, so every feed rejects submissions (fails closed)")
    elif state.get("circuit_dir"):
        # set by relayer/devnet/solvency.py (issue 5 item 4)
        out.append(f"proof verifier: Groth16Verifier on every feed, from the DEVELOPMENT setup in {state['circuit_dir']} "
                   "(one local contribution: not for production)")
    if any(c.get("ledger") for c in chains):
        out.append(f"synthetic option/perp book per chain: {Path(state['dir']) / 'ledgers'}")
    else:
        out.append("synthetic option/perp book: not seeded")
    out.append(f"config: {state['config']}   state: {Path(state['dir']) / 'devnet.json'}   logs: {Path(state['dir']) / 'logs'}")
    for moved in state.get("database_moved_aside") or []:
        out.append(f"an earlier devnet's database was moved aside (kept, not used): {moved}")
    return "\n".join(out)


def next_steps(state: dict[str, Any], devnet_dir: Path, foreground: bool = False) -> str:
    """What to run after `up`: the keystore password has to be exported, `relayer round` has no default."""
    config = Path(devnet_dir) / CONFIG_FILE
    lines = ["", "next steps (in another shell):" if foreground else "next steps:",
             f"  {password_hint(state)}",
             f"  relayer round --once --force -c {config}     (or: relayer run -c {config})"]
    if not foreground:
        lines.append(f"stop it with: relayer devnet down --dir {devnet_dir}")
    return "\n".join(lines)


@devnet.command()
@click.option("--chains", "n_chains", type=click.IntRange(1, 16), default=3, show_default=True,
              help="Number of anvil chains (chain ids 31337, 31338, ...).")
@click.option("--base-port", type=click.IntRange(1024, 65535), default=DEFAULT_BASE_PORT, show_default=True,
              help="Port of the first chain; chain i listens on base-port + i.")
@click.option("--fork-url", "fork_urls", multiple=True, metavar="URL",
              help="Fork a live chain: give it once per chain, in order ('none' for a chain not forked).")
@click.option("--block-time", "block_time", type=click.IntRange(1, MAX_BLOCK_TIME_S), default=None, metavar="SECONDS",
              help="Mine a block every SECONDS on every chain, with or without transactions (anvil --block-time). "
                   "Default: automine, one block per transaction.")
@_DIR_OPTION
@click.option("--foreground", is_flag=True, help="Stay up; Ctrl-C or SIGTERM tears the devnet down cleanly.")
@click.option("--json", "as_json", is_flag=True, help="Print the state (devnet.json) instead of tables.")
def up(n_chains: int, base_port: int, fork_urls: tuple[str, ...], block_time: int | None, devnet_dir: Path, foreground: bool,
       as_json: bool) -> None:
    """Start N anvil chains, deploy and seed the contracts, write chains.toml and devnet.json.

    Operator keys are 3 encrypted keystores in DIR/keys (quorum 2). `devnet up` makes or opens them
    with $RELAYER_KEYSTORE_PASSWORD, or, when it is unset, the documented devnet password
    'relayer-devnet-insecure-password'. `relayer round` and `relayer run` have no default: before
    them, export RELAYER_KEYSTORE_PASSWORD=relayer-devnet-insecure-password (or your own password).

    A relayer.db left in DIR by an earlier devnet belongs to chains that are gone: it is moved aside
    to relayer.db.<UTC timestamp> (never deleted) once the new chains are up.
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: types.FrameType | None) -> None:
        if stop.is_set():
            return
        stop.set()
        # while still starting, unwind (devnet_up cleans up what it started); later, just wake the loop
        if not started.is_set():
            raise KeyboardInterrupt

    started = threading.Event()
    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        progress = (lambda m: click.echo(m, err=True)) if not as_json else (lambda m: None)
        state = devnet_up(n_chains, devnet_dir, base_port=base_port, fork_urls=list(fork_urls) or None,
                          progress=progress, block_time=block_time)
        started.set()
        click.echo(json.dumps(state, indent=2) if as_json else describe(state))
        if not foreground:
            click.echo(next_steps(state, devnet_dir), err=True)
            return
        click.echo(next_steps(state, devnet_dir, foreground=True), err=True)
        click.echo("\nrunning in the foreground; Ctrl-C stops every chain", err=True)
        dead: list[str] = []
        while not stop.wait(1.0):
            dead = [c["name"] for c in state["chains"]
                    if identify_anvil(c["pid"], c["port"], c.get("started_at")).status != "ours"]
            if dead:
                break
        click.echo("stopping the devnet", err=True)
        _report_down(devnet_down(devnet_dir))
        if dead:
            raise ChainError(f"anvil of {', '.join(dead)} exited on its own (see its log in {devnet_dir}/logs); "
                             "the devnet was torn down")
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _report_down(results: list[Any] | None) -> None:
    if results is None:
        click.echo("no devnet recorded there; nothing to stop")
        return
    for r in results:
        click.echo(f"{r.name}: anvil PID {r.pid} {r.outcome}")


@devnet.command()
@_DIR_OPTION
def down(devnet_dir: Path) -> None:
    """Stop exactly the anvil processes recorded in DIR/devnet.json; remove that state file and the
    generated DIR/chains.toml. Logs, keystores and relayer.db stay (the next `up` moves relayer.db aside)."""
    _report_down(devnet_down(devnet_dir))


@devnet.command()
@_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the state (devnet.json) as JSON.")
def status(devnet_dir: Path, as_json: bool) -> None:
    """Show the recorded devnet and whether each anvil is still running."""
    state = read_state(devnet_dir.resolve())
    if state is None:
        click.echo(f"no devnet recorded in {devnet_dir}")
        return
    for c in state["chains"]:
        c["running"] = identify_anvil(c["pid"], c["port"], c.get("started_at")).status == "ours"
    if as_json:
        click.echo(json.dumps(state, indent=2))
        return
    if all(c.get("deployment") for c in state["chains"]):
        click.echo(describe(state))
    for c in state["chains"]:
        click.echo(f"{c['name']}: anvil PID {c['pid']} {'running' if c['running'] else 'NOT running'}")
