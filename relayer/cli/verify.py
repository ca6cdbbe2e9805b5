"""`relayer verify ROUND`: re-verify a stored round off-chain (bundle, digests, the batched Groth16
check against the inputs derived from the attestation) and against each feed (its own verifier
contract on the same inputs, and its RoundAccepted event for this attestation's digest)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from relayer.cli.round import CONFIG_OPTION, fmt_ratio, load, table


@click.command("verify")
@click.argument("round_no", metavar="ROUND", type=int)
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def verify(round_no: int, config_path: Path, as_json: bool) -> None:
    """Re-verify stored round ROUND off-chain and on every feed."""
    from relayer.pipeline.inspect import verify_round

    cfg = load(config_path)
    res = verify_round(cfg, round_no)  # VerificationError (exit code 5) when the off-chain check fails
    ok = all(f["verifier_accepts"] and f["accepted"] for f in res["feeds"])
    if as_json:
        click.echo(json.dumps(res | {"ok": ok}, indent=1))
    else:
        click.echo(f"round {round_no}: off-chain check {res['offchain']}  ratio {fmt_ratio(res['ratio_e8'])}  "
                   f"solvent {res['solvent']}" + ("  [DEV setup keys]" if res["dev_setup"] else ""))
        click.echo(table([[f["name"], f["verifier_accepts"], f["accepted"], f.get("feed_last_round"), f["error"] or ""]
                          for f in res["feeds"]], ["chain", "feed verifier accepts", "accepted by feed", "feed round", "error"]))
    if not ok:
        sys.exit(1)


@click.command("inclusion-path")
@click.argument("account", type=int)
@click.option("--chain", "chain_name", required=True, help="chain name (from chains.toml) whose book holds the account")
@CONFIG_OPTION
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the path here (relayer-inclusion/1 JSON) for `relayer inclusion PATH --root-file`")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def inclusion_path(account: int, chain_name: str, config_path: Path, out: Path | None, as_json: bool) -> None:
    """Build ACCOUNT's Merkle-sum path in the latest round and check it against the root the chain's
    feed holds on chain (the operator hands the path to the account holder, who re-checks it with
    `relayer inclusion`)."""
    from relayer.pipeline.inspect import inclusion_proof

    cfg = load(config_path)
    proof, info = inclusion_proof(cfg, cfg.chain(chain_name), account)
    if out is not None:
        out.write_text(json.dumps(proof.to_json(), indent=1) + "\n")
        # what the feed published for this chain in this round: the holder checks the path's root sum
        # against these totals too (`relayer inclusion PATH --root-file`)
        published = {k: info[k] for k in ("chain", "chain_id", "feed", "round", "root", "liabilities", "maintenanceMargin")}
        out.with_suffix(".root.json").write_text(json.dumps(published, indent=1) + "\n")
    data = info | {"included": True, "owed": proof.owed, "requirement": proof.requirement, "index": proof.index,
                   "path_file": str(out) if out else None}
    if as_json:
        click.echo(json.dumps(data, indent=1))
        return
    click.echo(f"account {account} on {chain_name}: included at leaf {proof.index} of round {info['round']}'s on-chain root "
               f"{info['root']}; owed {proof.owed} micro-USD, requirement {proof.requirement} micro-USD")
    if out is not None:
        click.echo(f"path written to {out} (root in {out.with_suffix('.root.json')}); the account holder checks it with: "
                   f"relayer inclusion {out} --root-file {out.with_suffix('.root.json')}")
