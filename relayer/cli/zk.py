"""`relayer zk`: Groth16 setup, prove, verify and verifier export on circom/snarkjs files.

Progress and warnings go to stderr; results (paths, hashes, "proof OK") to stdout. Errors are
raised from the relayer exception tree; `relayer.cli.main` turns them into exit codes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from relayer.cli.outputs import check_not_input, ensure_parent
from relayer.errors import ConfigError, FormatError, VerificationError
from relayer.zk.backends import BACKEND_NAMES

_DEV_NOTE = "WARNING: development setup: not for production (one local contribution; whoever ran it could forge proofs)"


def _err(msg: str) -> None:
    click.echo(msg, err=True)


def _is_snarkjs_ptau(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"ptau"


@click.group()
def zk() -> None:
    """Groth16 keys, proofs and verifiers (snarkjs/circom compatible files)."""


@zk.command("setup")
@click.option("--r1cs", "r1cs_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="circom .r1cs file")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="new key directory (never one holding keys; written whole or not at all)")
@click.option("--ptau", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="phase-1 result: a snarkjs prepared .ptau or a relayer powers-of-tau file; without it: dev setup")
@click.option("--contributions", default=1, show_default=True, type=click.IntRange(1, 100), help="local phase-2 contributions (with --ptau)")
@click.option("--entropy", default="", help="extra entropy mixed into the local contributions (with --ptau)")
@click.option("--backend", "backend_name", default="cpu", show_default=True, type=click.Choice(["cpu", "gpu", "reference"]),
              help="backend for the fixed-base multiplications of the dev setup")
def setup_cmd(r1cs_path: Path, out_dir: Path, ptau: Path | None, contributions: int, entropy: str, backend_name: str) -> None:
    """Make proving_key.bin, verifying_key.json and verification_key.json for a circuit."""
    from relayer.zk.formats.r1cs_file import read_r1cs
    from relayer.zk.groth16.keys import check_new_key_folder, save_keys
    from relayer.zk.groth16.qap import domain_size_for
    from relayer.zk.groth16.setup import ceremony_setup, dev_setup, read_ptau

    # before the setup: existing keys are never replaced (a verifier may be deployed from them)
    check_new_key_folder(out_dir)
    ensure_parent(out_dir, "--out")
    t0 = time.perf_counter()
    r1cs = read_r1cs(r1cs_path)
    n = domain_size_for(r1cs.n_constraints, r1cs.n_public)
    _err(f"circuit: {r1cs.n_constraints} constraints, {r1cs.n_wires} wires, {r1cs.n_public} public, domain {n}")
    if ptau is None:
        _err(_DEV_NOTE)
        pk = dev_setup(r1cs, backend=backend_name)
    else:
        if _is_snarkjs_ptau(ptau):
            from relayer.zk.formats.zkey_file import read_snarkjs_ptau

            _err(f"phase 1: snarkjs powers of tau {ptau}")
            basis = read_snarkjs_ptau(ptau, n)
        else:
            _err(f"phase 1: relayer powers of tau {ptau}")
            basis = read_ptau(ptau)
        _err(f"phase 2: {contributions} local contribution(s)")
        pk = ceremony_setup(r1cs, basis, contributions=contributions, entropy=entropy.encode())
    save_keys(out_dir, pk)
    _err(f"setup done in {time.perf_counter() - t0:.1f}s")
    click.echo(f"keys written to {out_dir}")
    click.echo(f"transcript hash: {pk.transcript_hash}")
    if pk.dev:
        click.echo(_DEV_NOTE)


def _load_pk(keys: Path | None, zkey: Path | None):  # type: ignore[no-untyped-def]
    from relayer.zk.groth16.keys import load_proving_key

    if (keys is None) == (zkey is None):
        raise ConfigError("give exactly one of --keys DIR or --zkey FILE")
    if zkey is not None:
        from relayer.zk.formats.zkey_file import read_zkey

        return read_zkey(zkey)
    pk = load_proving_key(keys)  # type: ignore[arg-type]
    if pk.dev:
        _err(_DEV_NOTE)
    return pk


@zk.command("prove")
@click.option("--keys", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None, help="key directory from `zk setup`")
@click.option("--zkey", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="a snarkjs Groth16 .zkey instead of --keys")
@click.option("--r1cs", "r1cs_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="check the witness against this .r1cs first (names the first failing constraint)")
@click.option("--wtns", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="witness (.wtns)")
@click.option("--proof", "proof_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="proof.json to write")
@click.option("--public", "public_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="public.json to write")
@click.option("--prover", default="auto", show_default=True, type=click.Choice(BACKEND_NAMES), help="prover backend")
@click.option("--timings", is_flag=True, help="print stage timings as JSON on stdout")
def prove_cmd(keys: Path | None, zkey: Path | None, r1cs_path: Path | None, wtns: Path, proof_path: Path,
              public_path: Path, prover: str, timings: bool) -> None:
    """Prove a witness; the proof is verified locally before it is written."""
    from relayer.zk.backends import get_backend
    from relayer.zk.formats.snarkjs_json import write_proof_json, write_public_json
    from relayer.zk.formats.wtns_file import read_wtns_limbs
    from relayer.zk.groth16.keys import KEY_FILES
    from relayer.zk.groth16.prover import prove

    # the outputs are checked before the proof: never one of the inputs (a proof written over the
    # witness loses it), never each other, and their folders writable
    inputs: dict[str, Path | None] = {"--wtns": wtns, "--r1cs": r1cs_path, "--zkey": zkey}
    if keys is not None:
        inputs |= {f"--keys {name}": keys / name for name in KEY_FILES}
    check_not_input(proof_path, "--proof", inputs)
    check_not_input(public_path, "--public", {**inputs, "--proof": proof_path})
    for flag, path in (("--proof", proof_path), ("--public", public_path)):
        ensure_parent(path, flag)
    pk = _load_pk(keys, zkey)
    r1cs = None
    if r1cs_path is not None:
        from relayer.zk.formats.r1cs_file import read_r1cs

        r1cs = read_r1cs(r1cs_path)
    # straight to the prover's limb array: no Python int per wire (2^20 wires: see read_wtns_limbs)
    witness = read_wtns_limbs(wtns)
    backend = get_backend(prover)
    _err(f"proving with backend {backend.name} ({backend.describe()}), {pk.n_wires} wires, domain {pk.qap.domain_size}")
    stages: dict[str, float] = {}
    proof, public = prove(pk, witness, backend, r1cs=r1cs, timings=stages)
    write_proof_json(proof_path, proof)
    write_public_json(public_path, public)
    _err(f"proof verified locally; {sum(stages.values()):.2f}s")
    if timings:
        click.echo(json.dumps({"backend": backend.name, "stages": stages}))
    else:
        click.echo(f"wrote {proof_path} and {public_path}")


@zk.command("verify")
@click.option("--keys", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None, help="key directory")
@click.option("--vkey", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="a verifying key file: snarkjs verification_key.json or our verifying_key.json")
@click.option("--proof", "proof_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public", "public_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_cmd(keys: Path | None, vkey: Path | None, proof_path: Path, public_path: Path) -> None:
    """Exit 0 if the proof verifies, non-zero with a message if not."""
    from relayer.zk.formats.snarkjs_json import read_proof_json, read_public_json, read_vk_json
    from relayer.zk.groth16.keys import VK_FORMAT, load_verifying_key, read_verifying_key
    from relayer.zk.groth16.verifier import verify

    if (keys is None) == (vkey is None):
        raise ConfigError("give exactly one of --keys DIR or --vkey FILE")
    dev = False
    if keys is not None:
        vk, dev, _ = load_verifying_key(keys)
    else:
        try:
            is_ours = json.loads(Path(vkey).read_text()).get("format") == VK_FORMAT  # type: ignore[arg-type]
        except (ValueError, AttributeError) as exc:
            raise FormatError(f"{vkey}: not a JSON verifying key") from exc
        if is_ours:
            vk, dev, _ = read_verifying_key(vkey)  # type: ignore[arg-type]
        else:
            vk = read_vk_json(vkey)  # type: ignore[arg-type]
    if dev:
        _err(_DEV_NOTE)
    proof = read_proof_json(proof_path)
    public = read_public_json(public_path)
    if len(public) != vk.n_public:
        raise VerificationError(f"{public_path} has {len(public)} public signals, the key expects {vk.n_public}")
    if not verify(vk, public, proof):
        raise VerificationError(f"proof {proof_path} does NOT verify for public signals {public_path}")
    click.echo("proof OK")


@zk.command("export-zkey")
@click.option("--keys", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path), help="key directory")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help=".zkey file to write")
def export_zkey_cmd(keys: Path, out_path: Path) -> None:
    """Write the proving key as a snarkjs Groth16 .zkey (snarkjs can prove with it and export its vkey)."""
    from relayer.zk.formats.zkey_file import write_zkey
    from relayer.zk.groth16.keys import load_proving_key

    ensure_parent(out_path, "--out")
    pk = load_proving_key(keys)
    if pk.dev:
        _err(_DEV_NOTE)
    write_zkey(out_path, pk)
    click.echo(f"wrote {out_path}")


@zk.command("export-verifier")
@click.option("--keys", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None, help="key directory")
@click.option("--vkey", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="snarkjs verification_key.json")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
def export_verifier_cmd(keys: Path | None, vkey: Path | None, out_dir: Path) -> None:
    """Write the Solidity verifier for a key (source, and bytecode + constructor args to deploy)."""
    from relayer.zk.formats.snarkjs_json import read_vk_json
    from relayer.zk.groth16.keys import load_verifying_key
    from relayer.zk.solidity import export_verifier

    if (keys is None) == (vkey is None):
        raise ConfigError("give exactly one of --keys DIR or --vkey FILE")
    if keys is not None:
        vk, dev, _ = load_verifying_key(keys)
        if dev:
            _err(_DEV_NOTE)
    else:
        vk = read_vk_json(vkey)  # type: ignore[arg-type]
    paths = export_verifier(vk, out_dir)
    for kind, p in paths.items():
        click.echo(f"{kind}: {p}")
