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
