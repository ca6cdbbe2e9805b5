"""`relayer bench feed-gas` (SPEC §8 gas per feed update vs chains): a small real run (n = 1, 2 with real
proofs) checked for its JSON shape, accepted rounds and gas growing with n; bad arguments and a round
the feed rejects stop the benchmark with a named error. No timing assertions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from web3 import Web3

from relayer.bench.feed_gas import (
    OWN_CHAIN_ID,
    Quorum,
    _deploy,
    _deploy_feed,
    _round_data,
    _Statements,
    _submit,
    markdown_table,
    parse_chain_counts,
    run,
)
from relayer.errors import ChainError, ConfigError
from relayer.zk.solidity import vk_constructor_args

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("feed-gas") / "feed-gas.json"
    res = run([1, 2], [Quorum(2, 3)], [0, 2], proofs="real", out=out)
    return res, out


def test_json_written_with_machine_and_proof_mode(result: tuple[dict[str, Any], Path]) -> None:
    res, out = result
    on_disk = json.loads(out.read_text())
    assert on_disk == json.loads(json.dumps(res))
    assert on_disk["benchmark"] == "feed-gas"
    assert {"cpu_model", "cpu_count", "python", "timestamp"} <= set(on_disk["machine"])
    assert on_disk["proofs"]["mode"] == "real" and on_disk["proofs"]["count"] == 2 * (1 + 2)
    assert on_disk["node"].startswith("anvil") and on_disk["hardfork"]
    assert on_disk["verifier"]["n_public"] == 12 and on_disk["verifier"]["deploy_gas"] > 0
    # one feed per (n, quorum, subscribers), two rounds each
    assert len(on_disk["submissions"]) == 2 * 1 * 2 * 2


def test_every_round_accepted_and_split_adds_up(result: tuple[dict[str, Any], Path]) -> None:
    res, _ = result
    for r in res["submissions"]:
        assert r["accepted"] is True
        assert r["storage"] == ("cold" if r["round"] == 1 else "warm")
        assert OWN_CHAIN_ID in r["chain_ids"] and len(r["chain_ids"]) == r["n_chains"]
        assert 0 < r["own_block_age"] <= 256  # the feed's blockhash() check ran
        zeros, total = r["calldata_zero_bytes"], r["calldata_bytes"]
        assert r["intrinsic_gas"] == 21_000 + 4 * zeros + 16 * (total - zeros)
        assert r["intrinsic_gas"] + r["verifier_call_gas"] + r["subscriber_calls_gas"] + r["feed_logic_gas"] == r["gas_used"]
        assert r["verifier_call_gas"] > 0 and r["feed_logic_gas"] > 0
        assert (r["subscriber_calls_gas"] > 0) == (r["subscribers"] > 0)
        # a cold first round writes fresh slots: dearer than the same feed's later round
        if r["round"] == 2:
            first = next(x for x in res["submissions"] if x["n_chains"] == r["n_chains"]
                         and x["subscribers"] == r["subscribers"] and x["round"] == 1)
            assert first["gas_used"] > r["gas_used"]


def test_gas_grows_with_the_number_of_chains(result: tuple[dict[str, Any], Path]) -> None:
    res, _ = result

    def row(n: int, subs: int, rnd: int) -> dict[str, Any]:
        return next(x for x in res["submissions"] if (x["n_chains"], x["subscribers"], x["round"]) == (n, subs, rnd))

    for subs in (0, 2):
        for rnd in (1, 2):
            one, two = row(1, subs, rnd), row(2, subs, rnd)
            assert two["gas_used"] > one["gas_used"]
            assert two["calldata_bytes"] > one["calldata_bytes"]
            assert two["verifier_call_gas"] > one["verifier_call_gas"]
        assert row(1, 2, 2)["gas_used"] > row(1, 0, 2)["gas_used"]  # subscribers cost gas
    summary = res["summary"]
    assert summary["per_chain_warm"]["steps"] == [row(2, 0, 2)["gas_used"] - row(1, 0, 2)["gas_used"]]
    assert summary["per_chain_cold"]["mean"] > summary["per_chain_warm"]["mean"] > 0
    assert summary["per_subscriber_warm"]["min"] > 0
    assert "per_signature_warm" not in summary  # one quorum measured: nothing to compare
    vb = res["verify_bundle_tx"]
    assert vb["2"]["gas_used"] > vb["1"]["gas_used"]
    table = markdown_table(res).splitlines()
    assert table[0].startswith("| chains |") and [line.split("|")[1].strip() for line in table[2:]] == ["1", "2"]


def test_cli_rejects_bad_arguments() -> None:
    from relayer.cli.main import cli

    for args in (["--chains", "0-2"], ["--chains", "9"], ["--chains", "x"], ["--quorums", "3/2"],
                 ["--quorums", "2"], ["--subscribers", "17"], ["--subscribers", "a"]):
        res = CliRunner().invoke(cli, ["bench", "feed-gas", *args])
        assert res.exit_code != 0 and isinstance(res.exception, ConfigError), (args, res.exception)
    with pytest.raises(ConfigError):
        parse_chain_counts("3-1")
    with pytest.raises(ConfigError):
        Quorum.parse("0/1")
    with pytest.raises(ConfigError):
        run([1], [], [0])
    with pytest.raises(ConfigError):
        run([1], [Quorum(1, 1)], [0], proofs="fake")


def test_a_rejected_round_stops_the_benchmark(fresh_anvil: Any) -> None:
    """The bench never records a round the feed did not accept: too few signatures and a replayed
    round are ChainErrors naming the feed's error, and the feed's round does not move."""
    w3 = Web3(Web3.HTTPProvider(fresh_anvil.rpc_url))
    owner, submitter = w3.eth.accounts[0], w3.eth.accounts[1]
    st = _Statements("simulated", lambda _m: None)
    verifier, _ = _deploy(w3, "Groth16Verifier", *vk_constructor_args(st.vk), sender=owner)
    feed, guards, _ = _deploy_feed(w3, str(verifier.address), Quorum(2, 3), 0, owner)
    rd = _round_data(w3, st, [OWN_CHAIN_ID], 1)
    with pytest.raises(ChainError, match="NotEnoughSignatures"):
        _submit(w3, feed, rd, Quorum(1, 3), submitter, str(verifier.address), guards)
    assert feed.functions.lastRound().call() == 0
    row = _submit(w3, feed, rd, Quorum(2, 3), submitter, str(verifier.address), guards)
    assert row["accepted"] and feed.functions.lastRound().call() == 1
    with pytest.raises(ChainError, match="RoundNotIncreasing"):
        _submit(w3, feed, rd, Quorum(2, 3), submitter, str(verifier.address), guards)
    # own block out of blockhash()'s reach by inclusion: the feed skips its hash check, so the bench
    # refuses the figure (a cheaper path than the one it claims to measure)
    stale = _round_data(w3, st, [OWN_CHAIN_ID], 2)
    w3.provider.make_request("anvil_mine", [hex(300)])
    with pytest.raises(ChainError, match="would not run"):
        _submit(w3, feed, stale, Quorum(2, 3), submitter, str(verifier.address), guards)
