"""`relayer circuit setup|info`: the solvency circuit's key folder (relayer.circuit_dir). `setup`
is a DEVELOPMENT setup (one local contribution); say so wherever the keys are used."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
def circuit() -> None:
    """The solvency circuit's keys (capacity, proving and verifying key)."""


@circuit.command("setup")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="new key folder (never one holding keys: feeds' verifiers check its key; written whole or not at all)")
@click.option("--accounts", type=int, default=8, show_default=True, help="accounts per chain (a power of two)")
@click.option("--instruments", type=int, default=4, show_default=True)
@click.option("--scenarios", type=int, default=4, show_default=True, help="risk scenarios (1..16 of the SPAN grid)")
@click.option("--prover", type=click.Choice(["cpu", "reference"]), default="cpu", show_default=True)
def setup_cmd(out_dir: Path, accounts: int, instruments: int, scenarios: int, prover: str) -> None:
    """Development setup of the solvency circuit at this capacity (NOT for production)."""
    from relayer.circuits.solvency import Capacity
    from relayer.cli.outputs import ensure_parent
    from relayer.keys_setup import SOLVENCY_KEY_FILES, CircuitSpec, setup_solvency_keys
    from relayer.zk.groth16.keys import check_new_key_folder

    # refused before the setup's minutes: a folder holding keys (a deployed verifier may check their
    # hash: replacing them would leave its feeds unprovable), or an --out that cannot be created
    check_new_key_folder(out_dir, SOLVENCY_KEY_FILES)
    ensure_parent(out_dir, "--out")
    keys = setup_solvency_keys(out_dir, CircuitSpec(Capacity(accounts, instruments, scenarios)), prover)
    click.echo("WARNING: development setup (one local contribution; whoever ran it could forge proofs)", err=True)
    click.echo(f"{out_dir}: solvency circuit {keys.spec.capacity}, verifying key hash 0x{keys.vk_hash.hex()}")


@circuit.command("info")
@click.argument("key_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def info(key_dir: Path) -> None:
    """Show a key folder's capacity, market parameters and verifying key hash."""
    from relayer.keys_setup import load_solvency_keys

    k = load_solvency_keys(key_dir)
    click.echo(json.dumps(k.spec.to_json() | {"dev": k.dev, "vk_hash": "0x" + k.vk_hash.hex()}, indent=1))
