"""`relayer run -c chains.toml`: the daemon (per-chain polling, the round job, heartbeat and
deviation triggers) with an HTTP endpoint: GET /metrics (Prometheus) and GET /status (the JSON of
`relayer status --json` plus the daemon's state). Ctrl-C / SIGTERM stop it after the current step."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from relayer.cli.round import CONFIG_OPTION, PROVER_OPTION, WORKERS_OPTION, fmt_ratio, load, progress


@click.command("run")
@CONFIG_OPTION
@PROVER_OPTION
@WORKERS_OPTION
@click.option("--metrics-port", type=int, default=9464, show_default=True,
              help="HTTP port on 127.0.0.1 for /metrics (Prometheus) and /status (JSON); 0: off")
@click.option("--max-rounds", type=int, default=None, help="stop after this many round-job runs (default: run forever)")
def run(config_path: Path, prover: str | None, workers: int | None, metrics_port: int, max_rounds: int | None) -> None:
    """Run the relayer daemon."""
    from relayer.daemon import Daemon
    from relayer.pipeline.build import build_pipeline

    cfg = load(config_path, prover)
    p = build_pipeline(cfg, prover_workers=workers, progress=progress)
    if metrics_port:
        click.echo(f"metrics on http://127.0.0.1:{metrics_port}/metrics, status on http://127.0.0.1:{metrics_port}/status",
                   err=True)

    def report(out: object) -> None:
        o = out  # RoundOutcome
        click.echo(f"round {getattr(o, 'round', None) or '-'}: {getattr(o, 'status')}"
                   f"  ratio {fmt_ratio(getattr(o, 'ratio_e8'))}" + (f"  ({o.reason})" if getattr(o, "reason") else ""),
                   err=True)

    d = Daemon(p, max_runs=max_rounds, on_outcome=report, http_port=metrics_port or None)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: d.stop())
    d.run()
