"""A chain's rpc list on real anvil: snapshots go on with rpc_quorum endpoints when others are dead,
slow or answer errors, but never outvote a lying or disagreeing one; the failover Web3 (feed reads,
status, preflight, the relay) moves past an endpoint that does not answer and never past one that
answers a JSON-RPC error; a whole devnet round (about 15 s) with every chain's rpc[0] dead."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError

from relayer import metrics
from relayer.config import ChainConfig, RelayerConfig, load_config
from relayer.devnet.anvil import AnvilProcess, _rpc, free_port
from relayer.devnet.deploy import ChainDeployment
from relayer.errors import ChainError
from relayer.relay.relay import Relay, failover_web3
from relayer.storage import SubmissionState, Store
from relayer.watch import ReorgTracker, take_snapshot
from relayer.watch.failover import FailoverHTTPProvider, chain_web3
from relayer.watch.rpc import RpcUnavailable
from relayer.watch.snapshot import vault_holding_slot
from tests.rpc_proxy import RpcProxy, for_address, proof_value
from tests.test_watch import chain_config, seeded

pytestmark = pytest.mark.anvil


def dead_url(path: str = "") -> str:
    """A closed port: "connection refused" at once."""
    return f"http://127.0.0.1:{free_port()}{path}"


def endpoint_errors(chain: str, endpoint: str) -> float:
    return metrics.REGISTRY.get_sample_value("relayer_rpc_endpoint_errors_total",
                                             {"chain": chain, "endpoint": endpoint}) or 0.0


class ErrorProxy(RpcProxy):
    """An RpcProxy that answers the methods in `errors` with that JSON-RPC error object (HTTP 200),
    as a node does for a revert, a pruned state or a rate limit, and forwards the rest."""

    def __init__(self, upstream: str, errors: dict[str, dict[str, Any]]) -> None:
        super().__init__(upstream)
        self.errors = errors

    def _handle(self, body: bytes) -> bytes:
        req = json.loads(body)
        method = req.get("method", "")
        if method in self.errors:
            with self._lock:
                self.calls.append(method)
            return json.dumps({"jsonrpc": "2.0", "id": req.get("id"), "error": self.errors[method]}).encode()
        return super()._handle(body)


class StatusServer:
    """Answers every POST with HTTP `status` (a gateway in front of a dead node, a rate limit)."""

    def __init__(self, status: int) -> None:
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                server.hits += 1
                body = b"upstream unavailable"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> StatusServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AnvilProcess, ChainDeployment]]:
    proc, dep = seeded(tmp_path_factory.mktemp("failover"))
    try:
        yield proc, dep
    finally:
        proc.stop()


@pytest.fixture()
def proxy(devnet: tuple[AnvilProcess, ChainDeployment]) -> Iterator[RpcProxy]:
    with RpcProxy(devnet[0].rpc_url) as p:
        yield p


# ---- snapshots and rpc_quorum -----------------------------------------------------------------------


def test_dead_endpoint_left_out_with_quorum_one_and_named(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    dead = dead_url()
    before = endpoint_errors("devnet-a", dead)
    snap = take_snapshot(chain_config(dep, [dead, proc.rpc_url], rpc_quorum=1))
    assert snap.rpc_urls == (proc.rpc_url,)  # only the endpoint that answered and proved it
    assert endpoint_errors("devnet-a", dead) == before + 1
    # the same block and values as the live endpoint alone gives
    alone = take_snapshot(chain_config(dep, [proc.rpc_url]), block_number=snap.block_number)
    assert (alone.block_hash, alone.holdings) == (snap.block_hash, snap.holdings)


def test_dead_endpoint_fails_the_default_quorum_naming_it(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    dead = dead_url()
    with pytest.raises(ChainError, match=rf"1 of 2 RPC endpoint\(s\) answered, 2 needed: every configured endpoint "
                                         rf"must answer \(set chains.devnet-a.rpc_quorum to go on with fewer\); "
                                         rf"{dead}: connection refused \(eth_chainId\)"):
        take_snapshot(chain_config(dep, [dead, proc.rpc_url]))
    # an explicit quorum of 2 of 3 with two dead: the same refusal, naming both
    dead2 = dead_url()
    with pytest.raises(ChainError, match=r"1 of 3 RPC endpoint\(s\) answered, 2 needed: chains.devnet-a.rpc_quorum = 2"
                       ) as info:
        take_snapshot(chain_config(dep, [proc.rpc_url, dead, dead2], rpc_quorum=2))
    assert dead in str(info.value) and dead2 in str(info.value)


def test_two_of_three_with_one_dead_are_both_proven(devnet: tuple[AnvilProcess, ChainDeployment], proxy: RpcProxy
                                                     ) -> None:
    proc, dep = devnet
    snap = take_snapshot(chain_config(dep, [dead_url(), proc.rpc_url, proxy.url], rpc_quorum=2))
    assert snap.rpc_urls == (proc.rpc_url, proxy.url)
    assert "eth_getProof" in proxy.calls  # the second answering endpoint's values were proven too


def test_slow_endpoint_left_out_within_one_timeout(devnet: tuple[AnvilProcess, ChainDeployment], proxy: RpcProxy
                                                  ) -> None:
    proc, dep = devnet
    proxy.delay("eth_getProof", 5.0)
    t0 = time.monotonic()
    snap = take_snapshot(chain_config(dep, [proxy.url, proc.rpc_url], rpc_quorum=1), timeout_s=0.5)
    assert snap.rpc_urls == (proc.rpc_url,)
    assert time.monotonic() - t0 < 2.5  # read concurrently: one 0.5 s timeout, not the proxy's 5 s


def test_json_rpc_error_answer_left_out_in_a_snapshot(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    err = {"code": -32000, "message": "missing trie node (state pruned)"}
    with ErrorProxy(proc.rpc_url, {"eth_getProof": err}) as erring:
        snap = take_snapshot(chain_config(dep, [erring.url, proc.rpc_url], rpc_quorum=1))
        assert snap.rpc_urls == (proc.rpc_url,)
        with pytest.raises(ChainError, match=rf"{erring.url}: eth_getProof returned error -32000: missing trie node"):
            take_snapshot(chain_config(dep, [erring.url, proc.rpc_url]))


def test_lying_endpoint_is_never_outvoted(devnet: tuple[AnvilProcess, ChainDeployment], proxy: RpcProxy) -> None:
    """A proof that does not verify is a lie, not an outage: fatal whatever rpc_quorum says."""
    proc, dep = devnet
    usdc = dep.assets[0]
    proxy.rewrite("eth_getProof", for_address(dep.vault, proof_value(vault_holding_slot(usdc.token),
                                                                       usdc.total_deposited * 2)))
    for rpc in ([proc.rpc_url, proxy.url], [proxy.url, proc.rpc_url]):
        with pytest.raises(ChainError, match=rf"reports value {usdc.total_deposited * 2} but its proof proves"):
            take_snapshot(chain_config(dep, rpc, rpc_quorum=1))


def test_disagreeing_endpoints_refused_whatever_the_quorum(devnet: tuple[AnvilProcess, ChainDeployment],
                                                           tmp_path: Path) -> None:
    proc, dep = devnet
    # a second chain with the same chain id and addresses: a fork that proves its own, different history
    other, dep2 = seeded(tmp_path)
    try:
        assert dep2.vault == dep.vault
        for _ in range(3):
            n1 = int(str(_rpc(proc.rpc_url, "eth_blockNumber")), 16)
            n2 = int(str(_rpc(other.rpc_url, "eth_blockNumber")), 16)
            for _ in range(abs(n1 - n2)):
                _rpc(other.rpc_url if n2 < n1 else proc.rpc_url, "evm_mine")
        for quorum in (1, 2):
            with pytest.raises(ChainError, match=rf"RPC endpoints disagree on block \d+: {proc.rpc_url} and "
                                                 rf"{other.rpc_url} return hashes"):
                take_snapshot(chain_config(dep, [proc.rpc_url, other.rpc_url], rpc_quorum=quorum))
    finally:
        other.stop()


def test_wrong_chain_id_stays_fatal_with_quorum_one(devnet: tuple[AnvilProcess, ChainDeployment],
                                                    proxy: RpcProxy) -> None:
    proc, dep = devnet
    proxy.rewrite("eth_chainId", lambda params, result: "0x1")
    with pytest.raises(ChainError, match=rf"{proxy.url} serves chain id 1, but the config says 31337"):
        take_snapshot(chain_config(dep, [proc.rpc_url, proxy.url], rpc_quorum=1))


def test_reorg_check_goes_on_without_a_dead_endpoint_only_within_quorum(
        devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    dead = dead_url()
    cfg = chain_config(dep, [dead, proc.rpc_url], rpc_quorum=1)
    tracker = ReorgTracker(cfg)
    tracker.record(take_snapshot(cfg))
    assert tracker.check() is None
    strict = ReorgTracker(chain_config(dep, [dead, proc.rpc_url]))
    strict.record(take_snapshot(chain_config(dep, [proc.rpc_url])))
    with pytest.raises(ChainError, match=rf"cannot tell whether block \d+ is still canonical: 1 of 2 .*{dead}"):
        strict.check()


# ---- the failover Web3 -----------------------------------------------------------------------------------


def test_failover_web3_moves_past_a_dead_endpoint_and_stays(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    dead = dead_url()
    cfg = chain_config(dep, [dead, proc.rpc_url])
    before = endpoint_errors("devnet-a", dead)
    w3 = chain_web3(cfg, 2.0)
    assert w3.eth.chain_id == 31337
    assert w3.provider.current_endpoint == proc.rpc_url  # type: ignore[attr-defined]
    assert w3.eth.block_number >= 1 and w3.eth.get_code(dep.feed) != b""
    # sticky: later requests go straight to the endpoint that answered
    assert endpoint_errors("devnet-a", dead) == before + 1


def test_failover_on_timeout_and_on_http_503_and_429(devnet: tuple[AnvilProcess, ChainDeployment],
                                                     proxy: RpcProxy) -> None:
    proc, dep = devnet
    proxy.delay("*", 5.0)
    w3 = chain_web3(chain_config(dep, [proxy.url, proc.rpc_url]), 0.5)
    t0 = time.monotonic()
    assert w3.eth.block_number >= 1
    assert time.monotonic() - t0 < 2.0
    for status in (503, 429):
        with StatusServer(status) as gateway:
            w3 = chain_web3(chain_config(dep, [gateway.url, proc.rpc_url]), 2.0)
            assert w3.eth.chain_id == 31337 and gateway.hits == 1
    # a 4xx other than 408/429 is an answer about the request, not an outage: not failed over
    with StatusServer(400) as gateway:
        w3 = chain_web3(chain_config(dep, [gateway.url, proc.rpc_url]), 2.0)
        with pytest.raises(requests.HTTPError, match="400"):
            w3.eth.chain_id


def test_json_rpc_error_answer_is_not_failed_over(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    revert = {"code": 3, "message": "execution reverted: no", "data": "0x"}
    with ErrorProxy(proc.rpc_url, {"eth_call": revert}) as first, RpcProxy(proc.rpc_url) as second:
        w3 = chain_web3(chain_config(dep, [first.url, second.url]), 2.0)
        with pytest.raises((ContractLogicError, Web3RPCError)):
            w3.eth.call({"to": dep.feed, "data": "0x12345678"})
        assert first.calls.count("eth_call") == 1 and second.calls == []  # nothing at all reached rpc[1]
        assert w3.provider.current_endpoint == first.url  # type: ignore[attr-defined]
    # a real revert from anvil through two honest proxies: answered by the first, never asked again elsewhere
    with RpcProxy(proc.rpc_url) as first, RpcProxy(proc.rpc_url) as second:
        w3 = chain_web3(chain_config(dep, [first.url, second.url]), 2.0)
        with pytest.raises(ContractLogicError):
            w3.eth.call({"to": dep.feed, "data": "0xdeadbeef"})  # no such function, no fallback: a revert
        assert first.calls.count("eth_call") == 1 and second.calls == []


def test_no_endpoint_answers(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    key = "abcdefghijklmnopqrstuvwxyz0123456789"
    a, b = dead_url(f"/v3/{key}"), dead_url(f"/v3/{key}")
    w3 = chain_web3(chain_config(dep, [a, b]), 1.0)
    with pytest.raises(RpcUnavailable) as info:
        w3.eth.chain_id
    msg = str(info.value)
    assert "devnet-a: none of the 2 RPC endpoints answered eth_chainId (3 pass(es))" in msg
    assert msg.count("Connection refused") == 2 and key not in msg  # named redacted, never with the key
    assert isinstance(info.value, ChainError)
    # one endpoint: what web3's provider raises, as without failover, after the same passes
    sleeps: list[float] = []
    w3 = Web3(FailoverHTTPProvider([a], 1.0, chain_name="devnet-a", sleep=sleeps.append))
    with pytest.raises(requests.ConnectionError):
        w3.eth.chain_id
    assert sleeps == [0.25, 0.5]
    # a method web3 would not retry gets one pass
    sleeps.clear()
    with pytest.raises(requests.ConnectionError):
        w3.provider.make_request("anvil_mine", [])  # type: ignore[arg-type]
    assert sleeps == []


# ---- the relay -------------------------------------------------------------------------------------------


def relay_config(dep: ChainDeployment, feed: str, rpc: list[str]) -> RelayerConfig:
    chain = chain_config(dep, rpc).model_copy(update={"feed": feed})
    return RelayerConfig(chains=(ChainConfig.model_validate(chain.model_dump()),))


@pytest.fixture()
def signed_round(tmp_path: Path) -> Iterator[tuple[AnvilProcess, Any, bytes, Store, ChainDeployment]]:
    """A private seeded anvil with a SolvencyFeed (verifier double, as tests/test_relay.py) and round 1
    signed in a store."""
    from tests.test_relay import key_of, prepare_round, setup_feed
    from relayer.attest.signer import UnsafeLocalKeySigner

    proc, dep = seeded(tmp_path)
    try:
        signers = [UnsafeLocalKeySigner(key_of(f"failover-signer-{i}")) for i in range(3)]
        op_key = key_of("failover-operator")
        chain = setup_feed(proc, [s.address for s in signers], 2, Account.from_key(op_key).address)
        store = Store(f"sqlite:///{tmp_path / 'relay.db'}")
        prepare_round(store, [chain], 1, signers, 2)
        yield proc, chain, op_key, store, dep
    finally:
        proc.stop()


def test_relay_submits_through_rpc1_when_rpc0_is_dead(signed_round: tuple[AnvilProcess, Any, bytes, Store,
                                                                          ChainDeployment]) -> None:
    from tests.test_relay import FAST

    proc, chain, op_key, store, dep = signed_round
    cfg = relay_config(dep, chain.feed.address, [dead_url(), proc.rpc_url])
    relay = Relay.from_config(store, cfg, op_key, FAST)  # the default factory: failover_web3
    sub = relay.relay_round(1)[chain.chain_id]
    assert sub.state == SubmissionState.INCLUDED, sub
    assert int(chain.feed.functions.lastRound().call()) == 1


def test_relay_resends_the_same_transaction_after_a_timeout(signed_round: tuple[AnvilProcess, Any, bytes, Store,
                                                                                ChainDeployment]) -> None:
    """rpc[0] takes the transaction but answers too late: the same signed bytes go to rpc[1] (same
    hash, same nonce); exactly one transaction is mined, the round is included once."""
    from tests.test_relay import FAST

    proc, chain, op_key, store, dep = signed_round
    op = Account.from_key(op_key).address
    with RpcProxy(proc.rpc_url) as slow, RpcProxy(proc.rpc_url) as fast:
        slow.delay("eth_sendRawTransaction", 2.0)
        cfg = relay_config(dep, chain.feed.address, [slow.url, fast.url])
        relay = Relay.from_config(store, cfg, op_key, FAST, web3_factory=lambda c: failover_web3(c, 0.5))
        sub = relay.relay_round(1)[chain.chain_id]
        assert sub.state == SubmissionState.INCLUDED, sub
        assert slow.calls.count("eth_sendRawTransaction") == 1 and fast.calls.count("eth_sendRawTransaction") == 1
        time.sleep(2.5)  # the slow copy reaches the node too: refused as known / nonce used, never mined twice
    assert chain.w3.eth.get_transaction_count(op, "latest") == 1
    assert len(store.sent_txs(1, chain.chain_id)) == 1
    assert int(chain.feed.functions.lastRound().call()) == 1


# ---- a whole round on a devnet whose every rpc[0] is dead ------------------------------------------------


def test_devnet_round_with_every_rpc0_dead(tmp_path: Path, solvency_keys_dir: Path) -> None:
    from tests.test_integration_pipeline import ENV, FAST_RELAY, accepted_rounds, start_devnet
    from relayer.devnet.manager import devnet_down
    from relayer.pipeline.build import build_pipeline
    from relayer.pipeline.inspect import status

    state = start_devnet(tmp_path, solvency_keys_dir)
    try:
        base = load_config(Path(state["config"]), env={})
        overrides: dict[str, Any] = {}
        for c in base.chains:
            overrides[f"chains.{c.name}.rpc"] = [dead_url(), c.rpc[0]]
            overrides[f"chains.{c.name}.rpc_quorum"] = 1
        cfg = load_config(Path(state["config"]), env={}, overrides=overrides)
        # preflight, snapshots, reorg check, feed reads and the relay: all through rpc[1]
        p = build_pipeline(cfg, backend="cpu", prover_workers=0, env=ENV, relay_options=FAST_RELAY, rpc_timeout_s=5)
        try:
            out = p.run_once(force=True)
            assert out.status == "done", out
            assert out.submissions == {c.chain_id: "included" for c in cfg.chains}
            sids = p.store.round_snapshots(out.round)
            for c in cfg.chains:
                assert p.store.get_snapshot(sids[c.chain_id]).rpc_urls == (c.rpc[1],)
                assert p.w3(c).provider.current_endpoint == c.rpc[1]  # type: ignore[attr-defined]
            for i in range(len(cfg.chains)):
                assert accepted_rounds(base, i)[-1] == out.round
            st = status(cfg, store=p.store)
            assert [row["feed_round"] for row in st["chains"]] == [out.round] * len(cfg.chains)
        finally:
            p.close()
        # the default quorum (every endpoint) refuses to start: the dead endpoints are named
        strict = load_config(Path(state["config"]), env={}, overrides={
            k: v for k, v in overrides.items() if k.endswith(".rpc")})
        with pytest.raises(ChainError, match="connection refused"):
            build_pipeline(strict, backend="cpu", prover_workers=0, env=ENV, relay_options=FAST_RELAY, rpc_timeout_s=5)
    finally:
        devnet_down(tmp_path)


@pytest.fixture(scope="session")
def solvency_keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from relayer.devnet.solvency import DEFAULT_CAPACITY
    from relayer.keys_setup import CircuitSpec, setup_solvency_keys

    d = tmp_path_factory.mktemp("failover-solvency-keys")
    setup_solvency_keys(d, CircuitSpec(DEFAULT_CAPACITY))
    return d




def test_quorum_failure_names_endpoints_lost_at_every_step(devnet: tuple[AnvilProcess, ChainDeployment],
                                                           proxy: RpcProxy) -> None:
    """One endpoint dead from the start, one that fails only when the block is read: both named."""
    proc, dep = devnet
    dead = dead_url()
    proxy.delay("eth_getProof", 5.0)
    with pytest.raises(ChainError, match=r"1 of 3 RPC endpoint\(s\) answered, 2 needed") as info:
        take_snapshot(chain_config(dep, [dead, proxy.url, proc.rpc_url], rpc_quorum=2), timeout_s=0.5)
    assert f"{dead}: connection refused (eth_chainId)" in str(info.value)
    assert f"{proxy.url}: no answer to eth_getProof within 0.5 s" in str(info.value)
