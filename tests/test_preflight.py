"""Start-up preflight (relayer.pipeline.preflight) on a real 3-chain Anvil devnet: a good devnet
passes; each mismatch between the config and the feeds (another verifying key, an unregistered
key, quorum below the threshold, an inclusion margin not below maxAge, a feed address that is an
EOA or another contract, the wrong chain, a verifier for another circuit or none, signer set
versions that differ, an RPC that does not answer or errors) is refused with its fix when the
pipeline is built, before anything is proven.
One devnet serves the module; tests that change chain state revert it (evm_snapshot/evm_revert).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from relayer.config import RelayerConfig, load_config
from relayer.devnet.deploy import FEED_MAX_AGE_S, FEED_MAX_FUTURE_DRIFT_S, contract
from relayer.devnet.keys import DEV_KEYSTORE_PASSWORD, DEVNET_SCRYPT_N
from relayer.devnet.manager import devnet_down, devnet_up
from relayer.devnet.solvency import CIRCUIT_DIR, DEFAULT_CAPACITY
from relayer.errors import ChainError, ConfigError
from relayer.keys_setup import CircuitSpec, load_solvency_keys, setup_solvency_keys
from relayer.pipeline.build import build_pipeline, open_signers
from relayer.pipeline.preflight import check_feeds
from relayer.zk.solidity import deploy_verifier, vk_hash
from devnet_helpers import ENV, FAST_RELAY, free_base_port

pytestmark = pytest.mark.anvil


# ------------------------------------------------------------------ fixtures (as tests/test_integration_pipeline.py)


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    d = tmp_path_factory.mktemp("preflight-devnet")
    setup_solvency_keys(d / CIRCUIT_DIR, CircuitSpec(DEFAULT_CAPACITY))  # the devnet reuses it (same capacity)
    state = devnet_up(3, d, base_port=free_base_port(3), env=ENV)
    try:
        yield state
    finally:
        devnet_down(d)


@pytest.fixture()
def chain_state(devnet: dict[str, Any]) -> Iterator[None]:
    """Every chain's state is restored after the test (for tests that send transactions)."""
    snaps = [(c["rpc_url"], rpc(c["rpc_url"], "evm_snapshot", [])["result"]) for c in devnet["chains"]]
    try:
        yield
    finally:
        for url, sid in snaps:
            assert rpc(url, "evm_revert", [sid])["result"] is True


def rpc(url: str, method: str, params: list[Any]) -> Any:
    return Web3(Web3.HTTPProvider(url)).provider.make_request(method, params)  # type: ignore[arg-type]


def config_of(state: dict[str, Any], tmp: Path, **overrides: Any) -> RelayerConfig:
    """The devnet's config with a database of the test's own, plus `overrides` (dotted keys)."""
    base = {"relayer.database_url": f"sqlite:///{tmp / 'relayer.db'}"}
    return load_config(Path(state["config"]), env={}, overrides=base | overrides)


def build(cfg: RelayerConfig, preflight: bool = True) -> Any:
    return build_pipeline(cfg, backend="cpu", prover_workers=0, env=ENV, relay_options=FAST_RELAY, rpc_timeout_s=5,
                          preflight=preflight)


def refused(cfg: RelayerConfig, tmp: Path, error: type[Exception] = ConfigError) -> str:
    """build_pipeline refuses `cfg`; nothing was started: no database, so no round, proof or signature."""
    with pytest.raises(error) as info:
        build(cfg)
    assert not (tmp / "relayer.db").exists()
    return str(info.value)


def new_keystore(path: Path) -> str:
    acct = Account.create()
    path.write_text(json.dumps(Account.encrypt(acct.key, DEV_KEYSTORE_PASSWORD, kdf="scrypt", iterations=DEVNET_SCRYPT_N)))
    return str(acct.address)


# ------------------------------------------------------------------ the good devnet

def test_good_devnet_passes_quickly(devnet: dict[str, Any], tmp_path: Path) -> None:
    cfg = config_of(devnet, tmp_path)
    keys = load_solvency_keys(cfg.relayer.circuit_dir)
    signers = open_signers(cfg, ENV)
    t0 = time.perf_counter()
    assert check_feeds(cfg, signers, keys.vk, rpc_timeout_s=5) == []
    dt = time.perf_counter() - t0
    print(f"preflight of {len(cfg.chains)} feeds: {dt * 1000:.0f} ms")
    assert dt < 5  # a handful of view calls per chain, in parallel
    p = build(cfg)  # the wired-in check passes too
    p.close()


# ------------------------------------------------------------------ each mismatch, refused with its fix

def test_another_verifying_key_is_refused(devnet: dict[str, Any], tmp_path: Path) -> None:
    other = setup_solvency_keys(tmp_path / "other-setup", CircuitSpec(DEFAULT_CAPACITY))  # a second dev setup
    ours = load_solvency_keys(Path(devnet["circuit_dir"])).vk_hash
    assert other.vk_hash != ours
    cfg = config_of(devnet, tmp_path, **{"relayer.circuit_dir": str(tmp_path / "other-setup")})
    msg = refused(cfg, tmp_path)
    for c in cfg.chains:
        assert f"{c.name} (chain id {c.chain_id}), feed {Web3.to_checksum_address(c.feed)}" in msg
    assert msg.count("holds verifying key hash 0x" + ours.hex()) == 3
    assert "expected 0x" + other.vk_hash.hex() in msg and "ProofRejected" in msg
    assert "Point relayer.circuit_dir at the key folder" in msg and "relayer circuit info" in msg


def test_unregistered_key_is_refused(devnet: dict[str, Any], tmp_path: Path) -> None:
    cfg0 = config_of(devnet, tmp_path)
    stranger = new_keystore(tmp_path / "stranger.json")
    keys = [str(k) for k in cfg0.relayer.keys] + [str(tmp_path / "stranger.json")]
    msg = refused(config_of(devnet, tmp_path, **{"relayer.keys": keys}), tmp_path)
    assert msg.count(f"operator key {stranger} ({tmp_path / 'stranger.json'}) is not a registered signer") == 3
    assert "rotateSigners" in msg and "remove its keystore from relayer.keys" in msg
    assert "NotEnoughSignatures" not in msg  # the three devnet keys still reach the threshold of 2

    # only one registered key left among two: the threshold of 2 cannot be reached either
    msg = refused(config_of(devnet, tmp_path, **{"relayer.keys": [keys[0], keys[-1]]}), tmp_path)
    assert msg.count("the feed needs 2 signatures (threshold), found only 1 registered signer(s) among the 2 "
                     "configured key(s); every submission would revert NotEnoughSignatures") == 3


def test_quorum_below_threshold_is_refused(devnet: dict[str, Any], tmp_path: Path) -> None:
    msg = refused(config_of(devnet, tmp_path, **{"relayer.quorum": 1}), tmp_path)
    assert msg.count("relayer.quorum = 1 is below the feed's threshold 2: the relayer would count a round with 1 "
                     "signature(s) as signed, and the feed would revert it NotEnoughSignatures") == 3
    assert "Set relayer.quorum = 2" in msg


def test_inclusion_margin_not_below_max_age_is_refused(devnet: dict[str, Any], tmp_path: Path) -> None:
    msg = refused(config_of(devnet, tmp_path, **{"relayer.inclusion_margin_s": FEED_MAX_AGE_S}), tmp_path)
    assert msg.count(f"relayer.inclusion_margin_s = {FEED_MAX_AGE_S} s leaves no time under the feed's maxAge of "
                     f"{FEED_MAX_AGE_S} s") == 3
    assert f"Lower relayer.inclusion_margin_s below {FEED_MAX_AGE_S}" in msg
    p = build(config_of(devnet, tmp_path, **{"relayer.inclusion_margin_s": FEED_MAX_AGE_S - 1}))  # just below: fine
    p.close()


def test_feed_address_that_is_an_eoa_or_another_contract_is_refused(devnet: dict[str, Any], tmp_path: Path) -> None:
    eoa = devnet["operators"][0]["address"]
    vault = devnet["chains"][2]["deployment"]["contracts"]["vault"]
    cfg = config_of(devnet, tmp_path, **{"chains.devnet-1.feed": eoa, "chains.devnet-2.feed": vault})
    msg = refused(cfg, tmp_path)
    assert f"devnet-1 (chain id {cfg.chains[1].chain_id}), feed {eoa}: not a SolvencyFeed" in msg
    assert "found no code at this address (an externally owned account" in msg
    assert f"devnet-2 (chain id {cfg.chains[2].chain_id}), feed {Web3.to_checksum_address(vault)}: not a SolvencyFeed" in msg
    assert "found a contract that does not" in msg
    assert msg.count("fix chains.devnet-1.feed") == 1 and msg.count("fix chains.devnet-2.feed") == 1
    assert "devnet-0" not in msg  # the good feed is not reported


def test_wrong_chain_is_refused(devnet: dict[str, Any], tmp_path: Path) -> None:
    # devnet-2's rpc points at devnet-1's node (a copy-paste slip)
    url1 = devnet["chains"][1]["rpc_url"]
    cfg = config_of(devnet, tmp_path, **{"chains.devnet-2.rpc": url1})
    msg = refused(cfg, tmp_path)
    want, got = cfg.chains[2].chain_id, cfg.chains[1].chain_id
    assert f"devnet-2 (chain id {want})" in msg
    assert f"wrong chain: expected chain id {want} (chains.devnet-2.chain_id), the RPC" in msg
    assert f"serves chain id {got}" in msg and "Fix chains.devnet-2.rpc or chains.devnet-2.chain_id" in msg
    assert "devnet-0" not in msg and "devnet-1 (" not in msg


def test_unreachable_rpc_blocks_start_with_a_chain_error(devnet: dict[str, Any], tmp_path: Path) -> None:
    cfg = config_of(devnet, tmp_path, **{"chains.devnet-2.rpc": "http://127.0.0.1:9"})
    msg = refused(cfg, tmp_path, ChainError)
    assert "devnet-2" in msg and "127.0.0.1:9" in msg and "does not answer" in msg
    assert "devnet-0" not in msg and "devnet-1" not in msg
    # an unreachable chain next to a mismatch: the mismatch makes it a ConfigError, both are listed
    msg = refused(config_of(devnet, tmp_path, **{"chains.devnet-2.rpc": "http://127.0.0.1:9", "relayer.quorum": 1}),
                  tmp_path)
    assert "127.0.0.1:9" in msg and "relayer.quorum = 1" in msg


def test_verifier_for_another_circuit_or_none_is_refused(devnet: dict[str, Any], tmp_path: Path,
                                                         chain_state: None) -> None:
    """Feeds deployed on devnet-0 with a verifier of a 2-input key, and with no verifier at all."""
    cfg0 = config_of(devnet, tmp_path)
    c0 = devnet["chains"][0]
    w3 = Web3(Web3.HTTPProvider(c0["rpc_url"]))
    deployer = Web3.to_checksum_address(c0["deployment"]["deployer"])
    operators = [o["address"] for o in devnet["operators"]]
    vk = load_solvency_keys(cfg0.relayer.circuit_dir).vk
    small = dataclasses.replace(vk, ic=vk.ic[:3])  # valid points, 2 public inputs: "another circuit"
    from relayer.contracts import deploy

    small_verifier = deploy_verifier(w3, small, sender=deployer)
    feed_small = deploy(w3, "SolvencyFeed", operators, 2, small_verifier, FEED_MAX_AGE_S, FEED_MAX_FUTURE_DRIFT_S,
                        deployer, sender=deployer)
    msg = refused(config_of(devnet, tmp_path, **{"chains.devnet-0.feed": feed_small.address}), tmp_path)
    assert f"its verifier {small_verifier} takes 2 public inputs per proof, expected 12" in msg
    assert f"holds verifying key hash 0x{vk_hash(small).hex()}, expected 0x{vk_hash(vk).hex()}" in msg

    feed_none = deploy(w3, "SolvencyFeed", operators, 2, "0x" + "00" * 20, FEED_MAX_AGE_S, FEED_MAX_FUTURE_DRIFT_S,
                       deployer, sender=deployer)
    msg = refused(config_of(devnet, tmp_path, **{"chains.devnet-0.feed": feed_none.address}), tmp_path)
    assert "found none (verifier() is the zero address: every submission would revert VerifierNotSet)" in msg
    assert "setVerifier()" in msg


def test_key_folder_of_another_circuit_is_refused(devnet: dict[str, Any], tmp_path: Path) -> None:
    """A verifying key with 2 public inputs where the solvency circuit has 12 (read directly: the
    key folder loader would refuse such a folder for other reasons first)."""
    cfg = config_of(devnet, tmp_path)
    vk = load_solvency_keys(cfg.relayer.circuit_dir).vk
    small = dataclasses.replace(vk, ic=vk.ic[:3])
    problems = check_feeds(cfg, open_signers(cfg, ENV), small, rpc_timeout_s=5)
    assert "has 2 public inputs, expected 12 (the solvency circuit's): not a solvency key folder" in problems[0].message
    assert sum(f"expected 0x{vk_hash(small).hex()}" in p.message for p in problems) == 3
    assert not any(p.unreachable for p in problems)


def test_signer_set_versions_that_differ_are_refused(devnet: dict[str, Any], tmp_path: Path,
                                                     chain_state: None) -> None:
    """devnet-1's owner rotated its signers (same set, version 2) but not the other feeds'."""
    c1 = devnet["chains"][1]
    w3 = Web3(Web3.HTTPProvider(c1["rpc_url"]))
    feed = contract(w3, "SolvencyFeed", c1["deployment"]["contracts"]["feed"])
    operators = [Web3.to_checksum_address(o["address"]) for o in devnet["operators"]]
    tx = feed.functions.rotateSigners(operators, 2).transact({"from": Web3.to_checksum_address(c1["deployment"]["deployer"])})
    assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
    assert feed.functions.signerSetVersion().call() == 2
    msg = refused(config_of(devnet, tmp_path), tmp_path)
    assert msg.count("signer set version 1, expected 2 like the other feeds") == 2  # devnet-0 and devnet-2
    assert "devnet-1 (" not in msg and "WrongSignerSetVersion" in msg and "Rotate the signer sets together" in msg


def test_relayer_round_once_refuses_before_proving(devnet: dict[str, Any], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI path (`relayer round --once`): a ConfigError (exit code 2 from `relayer`'s main), no
    database opened (no round stored), the prover never called."""
    from click.testing import CliRunner

    from relayer.cli.main import cli
    from relayer.pipeline import prover

    calls: list[Any] = []
    monkeypatch.setattr(prover.ChainProver, "prove_all", lambda *a, **k: calls.append(a))
    db = tmp_path / "relayer.db"
    env = ENV | {"RELAYER_QUORUM": "1", "RELAYER_DATABASE_URL": f"sqlite:///{db}"}
    res = CliRunner(env=env).invoke(cli, ["round", "--once", "--force", "-c", devnet["config"]])
    assert isinstance(res.exception, ConfigError) and res.exception.exit_code == 2, res.output
    assert "relayer.quorum = 1 is below the feed's threshold 2" in str(res.exception)
    assert calls == [] and not db.exists()


def test_rpc_error_or_timeout_while_reading_the_feed_is_cannot_check_not_a_wrong_feed(devnet: dict[str, Any],
                                                                                      tmp_path: Path) -> None:
    """An endpoint that answers eth_chainId but then errors (a rate limit) or stalls on eth_call:
    the feed could not be read, which is a ChainError naming the chain, never 'not a SolvencyFeed'."""
    from rpc_proxy import RpcProxy

    def rate_limited(params: list[Any], result: Any) -> Any:
        raise RuntimeError("429 too many requests")

    with RpcProxy(devnet["chains"][1]["rpc_url"]) as proxy:
        cfg = config_of(devnet, tmp_path, **{"chains.devnet-1.rpc": proxy.url})
        proxy.rewrite("eth_call", rate_limited)
        msg = refused(cfg, tmp_path, ChainError)
        assert "devnet-1 (" in msg and "cannot check it" in msg and "429 too many requests" in msg
        assert "not a SolvencyFeed" not in msg and "devnet-0" not in msg
        proxy.clear()
        proxy.delay("eth_call", 6)  # past the 5 s RPC timeout of build()
        t0 = time.monotonic()
        msg = refused(cfg, tmp_path, ChainError)
        assert time.monotonic() - t0 < 15  # one timeout, not web3's 5 retries of it (~30 s)
        assert "devnet-1 (" in msg and "cannot check it" in msg and "not a SolvencyFeed" not in msg
