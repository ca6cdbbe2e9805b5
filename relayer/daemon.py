"""The relayer daemon (`relayer run`, SPEC §6): APScheduler jobs — per-chain head polling (heads,
feed rounds and signer balances into the metrics) and the round job (one instance at a time, missed
runs coalesced). A round is published when the heartbeat H (`heartbeat_s`) is due or the ratio
moved by more than X (`deviation_bps`); see RoundPipeline.should_publish. With `http_port` it serves
GET /metrics and GET /status (the `relayer status --json` document plus the daemon's own state) from
its own threads, so a status request never waits for the round job.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import ThreadingHTTPServer
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor as APThreadPool
from apscheduler.schedulers.background import BackgroundScheduler
from web3 import Web3

from relayer import metrics
from relayer.config import ChainConfig
from relayer.errors import ConfigError, HaltError, RelayerError
from relayer.pipeline.round import RoundOutcome, RoundPipeline, feed_contract

log = logging.getLogger(__name__)


@dataclass
class DaemonState:
    heads: dict[str, int] = field(default_factory=dict)
    outcomes: list[RoundOutcome] = field(default_factory=list)
    halted: BaseException | None = None
    rounds_run: int = 0
    started_at: float | None = None  # wall-clock times (time.time())
    round_started_at: float | None = None  # of the round job in progress, None when none runs
    last_started_at: float | None = None  # of the last finished round job
    last_finished_at: float | None = None


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")


class Daemon:
    """Schedules the pipeline. `stop()` (or `max_runs` round-job runs) ends `run()`."""

    def __init__(self, pipeline: RoundPipeline, *, poll_s: float | None = None, max_runs: int | None = None,
                 on_outcome: Callable[[RoundOutcome], None] | None = None, http_port: int | None = None,
                 http_addr: str = "127.0.0.1", status_timeout_s: float = 5.0) -> None:
        self.p = pipeline
        self.cfg = pipeline.cfg
        self.http_port = http_port  # None: no HTTP server; 0: any free port (see http_server.server_port)
        self.http_addr = http_addr
        self.status_timeout_s = status_timeout_s
        self.http_server: ThreadingHTTPServer | None = None
        self.poll_s = poll_s if poll_s is not None else max(1.0, min(5.0, self.cfg.relayer.round_interval_s / 2))
        self.max_runs = max_runs
        self.on_outcome = on_outcome or (lambda o: None)
        self.state = DaemonState()
        self._stop = threading.Event()
        # one worker per job kind: the round job never runs twice at once, polls never queue behind it
        self.scheduler = BackgroundScheduler(
            executors={"default": APThreadPool(len(self.cfg.chains) + 2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=timezone.utc,
        )
        self.scheduler.add_listener(self._job_event, EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES)

    # ------------------------------------------------------------------ jobs

    def poll_chain(self, chain: ChainConfig) -> None:
        """Head, the feed's last round and the operators' balances of one chain (metrics + status)."""
        try:
            w3 = self.p.w3(chain)
            head = int(w3.eth.block_number)
            self.state.heads[chain.name] = head
            metrics.CHAIN_HEAD.labels(chain=chain.name).set(head)
            metrics.FEED_LAST_ROUND.labels(chain=chain.name).set(int(feed_contract(w3, chain.feed).functions.lastRound().call()))
            for s in self.p.signers:
                metrics.SIGNER_BALANCE_WEI.labels(chain=chain.name, signer=s.address).set(
                    int(w3.eth.get_balance(Web3.to_checksum_address(s.address))))
        except Exception as exc:  # a chain that is down must not stop the polling of the others
            log.warning("%s: head poll failed: %s", chain.name, exc)

    def round_job(self) -> None:
        if self._stop.is_set():
            return
        started = self.state.round_started_at = time.time()
        try:
            out = self.p.run_once()
        except HaltError as exc:
            # a broken invariant: stop everything loudly rather than sign or send something wrong
            log.critical("HALT: %s", exc)
            self.state.halted = exc
            self.state.round_started_at = None
            self._stop.set()
            return
        except RelayerError as exc:
            out = RoundOutcome("failed", None, str(exc))
            log.error("round job: %s", exc)
        except Exception as exc:  # a bug or an unexpected library error: reported, the daemon goes on
            out = RoundOutcome("failed", None, f"unexpected {type(exc).__name__}: {exc}")
            log.exception("round job")
        self.state.outcomes.append(out)
        self.state.last_started_at, self.state.last_finished_at = started, time.time()
        self.state.round_started_at = None
        self.state.rounds_run += 1
        self.on_outcome(out)
        if self.max_runs is not None and self.state.rounds_run >= self.max_runs:
            self._stop.set()

    def _job_event(self, event: JobExecutionEvent) -> None:
        if getattr(event, "exception", None) is not None:
            log.error("job %s raised: %r", event.job_id, event.exception)
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            log.info("job %s still running; this run is skipped (coalesced)", event.job_id)

    # ------------------------------------------------------------------ status

    def daemon_status(self) -> dict[str, Any]:
        """The daemon's own state: the round job (running now, last outcome), the next scheduled run,
        the prover backend and the trigger settings. Reads only memory and the scheduler."""
        st = self.state
        last = st.outcomes[-1] if st.outcomes else None
        job = self.scheduler.get_job("round") if self.scheduler.running else None
        next_run = getattr(job, "next_run_time", None) if job is not None else None
        return {
            "pid": os.getpid(),
            "started_at": _iso(st.started_at),
            "backend": getattr(getattr(self.p, "prover", None), "backend_name", None),
            "round_interval_s": self.cfg.relayer.round_interval_s,
            "heartbeat_s": self.cfg.relayer.heartbeat_s,
            "deviation_bps": self.cfg.relayer.deviation_bps,
            "round_running": st.round_started_at is not None,
            "current_round_started_at": _iso(st.round_started_at),
            "rounds_run": st.rounds_run,
            "last_round": None if last is None else {
                "status": last.status, "round": last.round, "reason": last.reason, "ratio_e8": last.ratio_e8,
                "solvent": last.solvent, "submissions": {str(k): v for k, v in last.submissions.items()},
                "started_at": _iso(st.last_started_at), "finished_at": _iso(st.last_finished_at)},
            "next_round_at": next_run.isoformat(timespec="seconds") if next_run is not None else None,
            "halted": None if st.halted is None else str(st.halted),
            "chain_heads_polled": dict(st.heads),
        }

    def status(self) -> dict[str, Any]:
        """GET /status: exactly what `relayer status --json` prints (the same function), plus
        `daemon`. Runs in the HTTP server's request thread, never in the scheduler's."""
        from relayer.pipeline.inspect import status as relayer_status

        doc = relayer_status(self.cfg, store=self.p.store, timeout_s=self.status_timeout_s)
        doc["daemon"] = self.daemon_status()
        return doc

    # ------------------------------------------------------------------ lifecycle

    def run(self) -> DaemonState:
        self.state.started_at = time.time()
        # the HTTP server first: a port already in use fails the start, before any job runs
        if self.http_port is not None:
            try:
                self.http_server = metrics.serve(self.http_port, self.http_addr, status=self.status)
            except OSError as exc:
                self.p.close()
                raise ConfigError(f"cannot serve /metrics and /status on {self.http_addr}:{self.http_port}: {exc}; "
                                  "choose another --metrics-port (0: no HTTP server)") from None
        try:
            now = datetime.now(timezone.utc)
            for c in self.cfg.chains:
                self.scheduler.add_job(self.poll_chain, "interval", args=[c], seconds=self.poll_s, id=f"poll:{c.name}",
                                       next_run_time=now)
            self.scheduler.add_job(self.round_job, "interval", seconds=self.cfg.relayer.round_interval_s, id="round",
                                   next_run_time=now)
            self.scheduler.start()
            log.info("relayer running: %d chain(s), round every %ds, heartbeat %ds, deviation %d bps",
                     len(self.cfg.chains), self.cfg.relayer.round_interval_s, self.cfg.relayer.heartbeat_s,
                     self.cfg.relayer.deviation_bps)
            while not self._stop.wait(0.2):
                pass
        finally:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=True)
            if self.http_server is not None:
                self.http_server.shutdown()
                self.http_server.server_close()
            self.p.close()
        if self.state.halted is not None:
            raise self.state.halted
        return self.state

    def stop(self) -> None:
        self._stop.set()


def wait_until(pred: Callable[[], bool], timeout_s: float, step_s: float = 0.2) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step_s)
    return pred()


__all__ = ["Daemon", "DaemonState", "wait_until"]
