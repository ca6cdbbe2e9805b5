"""The daemon's scheduling (no chain needed): the round job never runs twice at once and missed runs
are coalesced, a chain whose polling fails does not stop the others, a RelayerError in a round
is reported and the daemon goes on, a HaltError stops it loudly; the metrics endpoint serves the
relayer's metrics. And the pipeline's pure rules: the feed's ratio arithmetic."""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from relayer import metrics
from relayer.config import load_config
from relayer.daemon import Daemon
from relayer.errors import ChainError, HaltError
from relayer.pipeline.round import RATIO_CAP, RoundOutcome, ratio_e8

REPO = Path(__file__).resolve().parents[1]


class FakePipeline:
    """Stands in for RoundPipeline: a slow round job that records overlaps; scripted results."""

    def __init__(self, results: list[Any], round_s: float = 0.3, interval_s: int = 1) -> None:
        cfg = load_config(REPO / "chains.toml", env={})
        self.cfg = cfg.model_copy(update={"relayer": cfg.relayer.model_copy(update={"round_interval_s": interval_s})})
        self.signers: list[Any] = []
        self.results = list(results)
        self.round_s = round_s
        self.active = 0
        self.max_active = 0
        self.calls = 0
        self.polled: list[str] = []
        self.closed = False
        self._lock = threading.Lock()

    def run_once(self, force: bool = False) -> RoundOutcome:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.calls += 1
            res = self.results.pop(0) if self.results else RoundOutcome("skipped")
        try:
            time.sleep(self.round_s)
            if isinstance(res, BaseException):
                raise res
            return res
        finally:
            with self._lock:
                self.active -= 1

    def w3(self, chain: Any) -> Any:
        self.polled.append(chain.name)
        raise ConnectionError(f"{chain.name} is down")  # every poll fails: the daemon must not care

    def close(self) -> None:
        self.closed = True


def test_round_job_one_at_a_time_errors_reported_polls_isolated() -> None:
    fake = FakePipeline([RoundOutcome("done", 1), ChainError("devnet down"), RoundOutcome("done", 2)], round_s=1.5)
    seen: list[RoundOutcome] = []
    d = Daemon(fake, poll_s=0.2, max_runs=3, on_outcome=seen.append)  # type: ignore[arg-type]
    t0 = time.monotonic()
    state = d.run()
    assert fake.max_active == 1  # a 1.5 s round under a 1 s interval never overlaps itself
    assert [o.status for o in seen] == ["done", "failed", "done"]
    assert "devnet down" in (seen[1].reason or "")
    assert state.rounds_run == 3 and fake.closed
    # missed runs were coalesced, not queued: three runs took about three round durations
    assert time.monotonic() - t0 < 3 * 1.5 + 3
    assert len(fake.polled) >= 2  # polling went on although every poll failed


def test_halt_error_stops_the_daemon_loudly() -> None:
    fake = FakePipeline([HaltError("signer asked to sign a second digest for round 7")], round_s=0.05)
    d = Daemon(fake, poll_s=5, max_runs=10)  # type: ignore[arg-type]
    with pytest.raises(HaltError, match="second digest"):
        d.run()
    assert fake.calls == 1 and fake.closed


def test_metrics_endpoint_serves_relayer_metrics() -> None:
    metrics.ROUND_STAGE_SECONDS.labels(stage="prove").observe(1.25)
    metrics.FEED_LAST_ROUND.labels(chain="devnet-0").set(7)
    metrics.SIGNER_BALANCE_WEI.labels(chain="devnet-0", signer="0xabc").set(10**18)
    server = metrics.serve(0)
    try:
        port = server.server_port
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        server.shutdown()
    assert 'relayer_round_stage_seconds_count{stage="prove"}' in body
    assert 'relayer_feed_last_round{chain="devnet-0"} 7.0' in body
    assert "relayer_signer_balance_wei" in body and "relayer_proof_seconds" in body
    assert "relayer_feed_update_gas" in body


def test_ratio_is_the_feeds_arithmetic() -> None:
    assert ratio_e8(3, 2) == 150_000_000
    assert ratio_e8(2, 3) == 66_666_666  # floor, like the contract
    assert ratio_e8(0, 5) == 0
    assert ratio_e8(5, 0) == RATIO_CAP and ratio_e8(0, 0) == RATIO_CAP
    assert ratio_e8(2**250, 1) == RATIO_CAP  # capped
