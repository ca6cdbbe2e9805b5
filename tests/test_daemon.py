"""The daemon's scheduling (no chain needed): the round job never runs twice at once and missed runs
are coalesced, a chain whose polling fails does not stop the others, a RelayerError in a round
is reported and the daemon goes on, a HaltError stops it loudly; the metrics endpoint serves the
relayer's metrics; GET /status serves `relayer status --json` plus the daemon's own state without
waiting for a round in progress (and, on a real devnet, equals the CLI's JSON). And the pipeline's
pure rules: the feed's ratio arithmetic."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from relayer import metrics
from relayer.config import load_config
from relayer.daemon import Daemon, wait_until
from relayer.errors import ChainError, HaltError
from relayer.pipeline.round import RATIO_CAP, RoundOutcome, ratio_e8
from test_integration_pipeline import solvency_keys_dir  # noqa: F401  (session fixture: the devnet's circuit keys)

REPO = Path(__file__).resolve().parents[1]


class FakePipeline:
    """Stands in for RoundPipeline: a slow round job that records overlaps; scripted results."""

    def __init__(self, results: list[Any], round_s: float = 0.3, interval_s: int = 1, store: Any = None,
                 overrides: dict[str, Any] | None = None) -> None:
        cfg = load_config(REPO / "chains.toml", env={}, overrides=overrides)
        self.cfg = cfg.model_copy(update={"relayer": cfg.relayer.model_copy(update={"round_interval_s": interval_s})})
        self.signers: list[Any] = []
        self.store = store
        self.prover = SimpleNamespace(backend_name="fake-backend")
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


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def start_daemon(d: Daemon) -> threading.Thread:
    t = threading.Thread(target=d.run, daemon=True)
    t.start()
    assert wait_until(lambda: d.http_server is not None, 10)
    return t


def test_status_endpoint_serves_state_404_elsewhere_and_never_waits_for_a_round(tmp_path: Path) -> None:
    from relayer.devnet.anvil import free_port
    from relayer.pipeline.inspect import status as relayer_status
    from relayer.storage import Store

    dead = f"http://127.0.0.1:{free_port()}"  # every chain is down: the status still answers, per chain
    store = Store(f"sqlite:///{tmp_path / 'relayer.db'}")
    fake = FakePipeline([RoundOutcome("done", 7, None, 150_000_000, True)], round_s=3.0, interval_s=60, store=store,
                        overrides={"chains.mainnet.rpc": dead, "chains.arbitrum.rpc": dead})
    d = Daemon(fake, poll_s=30, http_port=0)  # type: ignore[arg-type]
    t = start_daemon(d)
    try:
        base = f"http://127.0.0.1:{d.http_server.server_port}"  # type: ignore[union-attr]
        assert wait_until(lambda: fake.active == 1, 10)  # the round job is running (for 3 s)
        t0 = time.monotonic()
        code, body = get(base + "/status")
        assert time.monotonic() - t0 < 2.0  # answered while the round job runs, not after it
        assert fake.active == 1 and code == 200
        st = json.loads(body)
        # the JSON of `relayer status --json` (same function), plus the daemon's own state
        assert set(st) == set(relayer_status(fake.cfg, store=store, timeout_s=1)) | {"daemon"}
        assert [c["name"] for c in st["chains"]] == ["mainnet", "arbitrum"]
        assert all(c["head"] is None and c["error"] for c in st["chains"])
        assert st["rounds"] == []
        dm = st["daemon"]
        assert dm["round_running"] is True and dm["last_round"] is None and dm["rounds_run"] == 0
        assert dm["backend"] == "fake-backend" and dm["round_interval_s"] == 60 and dm["halted"] is None
        assert dm["next_round_at"] is not None and dm["current_round_started_at"] is not None
        # once the round job finished: its outcome is the last round
        assert wait_until(lambda: d.state.rounds_run == 1, 10)
        dm = json.loads(get(base + "/status")[1])["daemon"]
        assert dm["round_running"] is False and dm["rounds_run"] == 1
        assert dm["last_round"]["status"] == "done" and dm["last_round"]["round"] == 7
        assert dm["last_round"]["ratio_e8"] == 150_000_000 and dm["last_round"]["finished_at"] is not None
        # /metrics on the same server; anything else is a 404
        code, body = get(base + "/metrics")
        assert code == 200 and b"relayer_rounds_total" in body
        for path in ("/", "/statusx", "/status/1", "/favicon.ico"):
            code, body = get(base + path)
            assert code == 404 and b"not found" in body, path
    finally:
        d.stop()
        t.join(15)
    assert not t.is_alive()
    with pytest.raises(OSError):  # the server went down with the daemon
        urllib.request.urlopen(base + "/status", timeout=2)


def test_status_endpoint_port_in_use_is_a_config_error(tmp_path: Path) -> None:
    import socket

    from relayer.errors import ConfigError

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        fake = FakePipeline([])
        d = Daemon(fake, http_port=busy.getsockname()[1])  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="choose another --metrics-port"):
            d.run()
    assert fake.calls == 0 and fake.closed


@pytest.mark.anvil
def test_status_endpoint_of_a_running_daemon_equals_relayer_status_json(tmp_path: Path, solvency_keys_dir: Path) -> None:
    """A real daemon on a 3-chain devnet: after its first round, GET /status is the JSON of
    `relayer status --json` (same chains, feeds, rounds, balances) plus the daemon's state."""
    from click.testing import CliRunner

    from relayer.cli.main import cli
    from relayer.devnet.keys import DEV_KEYSTORE_PASSWORD
    from relayer.devnet.manager import devnet_down
    from test_integration_pipeline import config_of, make_pipeline, start_devnet

    (tmp_path / "devnet").mkdir()
    state = start_devnet(tmp_path / "devnet", solvency_keys_dir)
    try:
        cfg = config_of(state, round_interval_s=3600, heartbeat_s=3600)
        d = Daemon(make_pipeline(cfg), poll_s=30, http_port=0)
        t = start_daemon(d)
        try:
            assert wait_until(lambda: d.state.rounds_run >= 1, 240)
            base = f"http://127.0.0.1:{d.http_server.server_port}"  # type: ignore[union-attr]
            code, body = get(base + "/status", timeout=30)
            assert code == 200
            st = json.loads(body)
            res = CliRunner(env={"RELAYER_KEYSTORE_PASSWORD": DEV_KEYSTORE_PASSWORD}).invoke(
                cli, ["status", "--json", "-c", state["config"]])
            assert res.exit_code == 0, res.output
            daemon = st.pop("daemon")
            assert st == json.loads(res.stdout)  # the CLI's document, field for field
            assert [c["feed_round"] for c in st["chains"]] == [1, 1, 1] and st["rounds"][-1]["state"] == "done"
            assert daemon["last_round"]["status"] == "done" and daemon["last_round"]["round"] == 1
            assert daemon["backend"] == "cpu" and daemon["round_running"] is False and daemon["rounds_run"] == 1
            assert daemon["next_round_at"] is not None and daemon["halted"] is None
        finally:
            d.stop()
            t.join(60)
    finally:
        devnet_down(tmp_path / "devnet")
