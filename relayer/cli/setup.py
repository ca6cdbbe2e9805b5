"""`relayer setup`: ceremony contributions (phase 1 powers of tau, phase 2 per-circuit δ).

Each contribution draws fresh randomness from the OS (plus optional --entropy), applies it, forgets
it, and prints the new transcript hash for the participant to publish.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from relayer.cli.outputs import check_new_file, ensure_parent, write_new_file


@click.group()
def setup() -> None:
    """Setup ceremony: add contributions to powers of tau or to a circuit's keys."""


@setup.command("contribute")
@click.option("--in", "in_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path), help="key directory to build on")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="new key directory to write (not --in, not an existing key; written whole or not at all)")
@click.option("--name", default="", help="contributor name recorded in the transcript")
@click.option("--entropy", default="", help="extra entropy text mixed with os.urandom (never instead of it)")
def contribute(in_dir: Path, out_dir: Path, name: str, entropy: str) -> None:
    """Add a phase-2 contribution (new δ) to a key directory and print the transcript hash."""
    from relayer.keys_setup import check_contribution_target, contribute_key_folder
    from relayer.zk.groth16.keys import load_proving_key

    check_contribution_target(in_dir, out_dir)  # before the slow part: refuse an --out that would overwrite
    ensure_parent(out_dir, "--out")
    t0 = time.perf_counter()
    pk = load_proving_key(in_dir)
    if pk.dev:
        click.echo("WARNING: this key comes from a development setup; a phase-2 contribution does not "
                   "remove the dev setup's phase-1 secrets: it stays a development key", err=True)
    click.echo(f"contributing to {in_dir} ({pk.c_query.shape[0] + pk.h_query.shape[0]} points to update)", err=True)
    new = contribute_key_folder(in_dir, out_dir, name=name, entropy=entropy.encode(), pk=pk)
    click.echo(f"done in {time.perf_counter() - t0:.1f}s", err=True)
    click.echo(f"contribution #{len(new.contributions)} written to {out_dir}")
    click.echo(f"transcript hash: {new.transcript_hash}")


@setup.command("ptau-new")
@click.option("--power", required=True, type=click.IntRange(1, 27), help="supports circuits with domain up to 2^power")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="new file to write (never an existing one; written whole or not at all)")
def ptau_new(power: int, out_path: Path) -> None:
    """Start a phase-1 (powers of tau) ceremony: every power is the generator until someone contributes."""
    from relayer.zk.groth16.setup import phase1_new, write_ptau

    check_new_file(out_path, "--out")  # before the work
    ensure_parent(out_path, "--out")
    p = phase1_new(power)
    write_new_file(out_path, lambda tmp: write_ptau(tmp, p), "--out")
    click.echo(f"transcript hash: {p.transcript_hash}")


@setup.command("ptau-contribute")
@click.option("--in", "in_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="new file to write (not --in, not an existing file; written whole or not at all)")
@click.option("--name", default="", help="contributor name recorded in the transcript")
@click.option("--entropy", default="", help="extra entropy text mixed with os.urandom")
@click.option("--verify/--no-verify", default=True, show_default=True, help="check the result's pairing consistency")
def ptau_contribute(in_path: Path, out_path: Path, name: str, entropy: str, verify: bool) -> None:
    """Add a phase-1 contribution (new τ, α, β) and print the transcript hash."""
    from relayer.zk.groth16.setup import phase1_contribute, phase1_verify, read_ptau, write_ptau

    # before the (long) contribution: the previous transcript is never overwritten, by --out = --in
    # least of all (the contribution's secret is forgotten: a lost input cannot be recomputed)
    check_new_file(out_path, "--out", {"--in": in_path})
    ensure_parent(out_path, "--out")
    p = phase1_contribute(read_ptau(in_path), name=name, entropy=entropy.encode())
    if verify:
        phase1_verify(p)
    write_new_file(out_path, lambda tmp: write_ptau(tmp, p), "--out")
    click.echo(f"transcript hash: {p.transcript_hash}")


@setup.command("verify")
@click.option("--old", "old_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path), help="key directory before")
@click.option("--new", "new_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path), help="key directory after")
@click.option("--backend", "backend_name", default="cpu", show_default=True, type=click.Choice(["cpu", "gpu", "reference"]))
def verify_contribution(old_dir: Path, new_dir: Path, backend_name: str) -> None:
    """Check that NEW is OLD plus one valid phase-2 contribution (proof of knowledge, pairings)."""
    from relayer.zk.groth16.keys import load_proving_key
    from relayer.zk.groth16.setup import phase2_verify_contribution

    old, new = load_proving_key(old_dir), load_proving_key(new_dir)
    phase2_verify_contribution(old, new, backend_name)
    click.echo(f"contribution {new.contributions[-1]['name']!r} is valid; transcript hash: {new.transcript_hash}")


@setup.command("ptau-verify")
@click.option("--old", "old_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--new", "new_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def ptau_verify(old_path: Path, new_path: Path) -> None:
    """Check that NEW is OLD plus one valid phase-1 contribution."""
    from relayer.zk.groth16.setup import phase1_verify_contribution, read_ptau

    new = read_ptau(new_path)
    phase1_verify_contribution(read_ptau(old_path), new)
    click.echo(f"contribution {new.contributions[-1]['name']!r} is valid; transcript hash: {new.transcript_hash}")
