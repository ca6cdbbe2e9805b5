"""Groth16Verifier on Anvil: valid single, batched and bundled proofs accepted; every kind of bad
proof, input, key or bundle rejected (false) or refused (custom error); gas measured."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest
from curve_helpers import first_twist_point
from eth_abi import encode as abi_encode
from eth_utils import keccak
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError

from relayer.contracts import deploy
from relayer.errors import FormatError
from relayer.zk import solidity as S
from relayer.zk.curve import G2
from relayer.zk.field import Q, R
from relayer.zk.groth16.types import Proof, VerifyingKey

pytestmark = pytest.mark.anvil

K = 3  # public inputs per proof in these tests
MAX_N = 8


def _selector(sig: str) -> str:
    return "0x" + keccak(text=sig)[:4].hex()


@pytest.fixture(scope="module")
def w3(anvil) -> Web3:
    return Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 60}))


@pytest.fixture(scope="module")
def keyset() -> dict[str, Any]:
    rng = random.Random(20261126)
    vk, td = S.unsafe_trapdoor_key(K, rng)
    pubs = [[rng.randrange(R) for _ in range(K)] for _ in range(MAX_N)]
    pubs[1][0] = 0  # a zero input takes the contract's skip path
    proofs = [S.unsafe_simulated_proof(td, x, rng) for x in pubs]
    other_vk, other_td = S.unsafe_trapdoor_key(K, rng)
    other_proof = S.unsafe_simulated_proof(other_td, pubs[0], rng)
    return {"vk": vk, "td": td, "pubs": pubs, "proofs": proofs, "other_vk": other_vk, "other_proof": other_proof}


@pytest.fixture(scope="module")
def verifier(w3: Web3, keyset: dict[str, Any]) -> Any:
    return S.verifier_contract(w3, S.deploy_verifier(w3, keyset["vk"]))


def _single(c: Any, proof: Proof | list[int], pub: Sequence[int]) -> bool:
    words = proof if isinstance(proof, list) else S.encode_proof(proof)
    return c.functions.verifyProof(words, list(pub)).call()


def _batch(c: Any, proofs: Sequence[Proof | list[int]], pubs: Sequence[Sequence[int]]) -> bool:
    words = [p if isinstance(p, list) else S.encode_proof(p) for p in proofs]
    return c.functions.verifyBatch(words, [x for xs in pubs for x in xs]).call()


def _reverts_with(fn: Any, sig: str) -> None:
    with pytest.raises((ContractCustomError, ContractLogicError)) as exc:
        fn.call()
    data = exc.value.data if isinstance(exc.value.data, str) else str(exc.value)
    assert _selector(sig)[2:] in data, f"expected {sig}, got {exc.value!r}"


def _factory(w3: Web3) -> Any:
    art = S.load_full_artifact(S.VERIFIER_CONTRACT)
    return w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])


def _g1_add_generator(p: list[int]) -> list[int]:
    from py_ecc import optimized_bn128 as bn

    pt = bn.add((bn.FQ(p[0]), bn.FQ(p[1]), bn.FQ.one()), bn.G1)
    x, y = bn.normalize(pt)
    return [int(x.n), int(y.n)]


# ---------------------------------------------------------------- key, encodings


def test_contract_holds_the_key(verifier: Any, keyset: dict[str, Any], w3: Web3) -> None:
    vk: VerifyingKey = keyset["vk"]
    assert verifier.functions.nPublic().call() == K
    assert bytes(verifier.functions.vkHash().call()) == S.vk_hash(vk)
    # the words really are the runtime code of the data contract (0x00 || words)
    data = w3.eth.get_code(verifier.functions.vkData().call())
    assert data == b"\x00" + b"".join(v.to_bytes(32, "big") for v in S.vk_words(vk))
    # and nothing of the key sits in the verifier's storage
    assert all(w3.eth.get_storage_at(verifier.address, i) == b"\x00" * 32 for i in range(4))
    # the Python batch verifier seeds its coefficients with this same hash: one copy of the layout
    from relayer.zk.groth16 import verifier as pv

    assert pv.vk_hash is S.vk_hash and pv.vk_hash(vk) == bytes(verifier.functions.vkHash().call())


def test_encode_proof_layout(keyset: dict[str, Any]) -> None:
    p: Proof = keyset["proofs"][0]
    assert S.encode_proof(p) == [p.a[0], p.a[1], p.b[0][1], p.b[0][0], p.b[1][1], p.b[1][0], p.c[0], p.c[1]]
    bundle = S.encode_bundle(keyset["proofs"][:2])
    assert bundle[:32] == (1).to_bytes(32, "big") and bundle[32:64] == (64).to_bytes(32, "big")
    assert bundle[64:96] == (2).to_bytes(32, "big") and len(bundle) == 96 + 2 * 256


def test_python_encoders_reject_bad_points(keyset: dict[str, Any]) -> None:
    p: Proof = keyset["proofs"][0]
    with pytest.raises(FormatError, match="proof A"):
        S.encode_proof(Proof((p.a[0], p.a[1] + 1), p.b, p.c))
    with pytest.raises(FormatError, match="proof C"):
        S.encode_proof(Proof(p.a, p.b, (p.c[0] + Q, p.c[1])))
    with pytest.raises(FormatError, match="proof B"):
        S.encode_proof(Proof(p.a, ((p.b[0][0], p.b[0][1] + 1), p.b[1]), p.c))
    vk: VerifyingKey = keyset["vk"]
    with pytest.raises(FormatError, match="infinity"):
        S.vk_words(VerifyingKey(None, vk.beta_g2, vk.gamma_g2, vk.delta_g2, vk.ic))
    with pytest.raises(FormatError, match="IC"):
        S.vk_words(VerifyingKey(vk.alpha_g1, vk.beta_g2, vk.gamma_g2, vk.delta_g2, ()))
    with pytest.raises(FormatError, match="not in"):
        S.flatten_inputs([[R, 0, 0]], K)
    with pytest.raises(FormatError, match="expects 3"):
        S.flatten_inputs([[1, 2]], K)
    with pytest.raises(FormatError):
        S.encode_bundle([])


# ---------------------------------------------------------------- valid proofs


def test_single_valid(verifier: Any, keyset: dict[str, Any]) -> None:
    for x, p in zip(keyset["pubs"], keyset["proofs"]):
        assert _single(verifier, p, x) is True


@pytest.mark.parametrize("n", range(1, MAX_N + 1))
def test_batch_valid(verifier: Any, keyset: dict[str, Any], n: int) -> None:
    assert _batch(verifier, keyset["proofs"][:n], keyset["pubs"][:n]) is True


def test_batch_of_repeated_proof(verifier: Any, keyset: dict[str, Any]) -> None:
    p, x = keyset["proofs"][3], keyset["pubs"][3]
    assert _batch(verifier, [p] * 4, [x] * 4) is True


# ---------------------------------------------------------------- single: what must be rejected


def test_single_rejects_other_inputs(verifier: Any, keyset: dict[str, Any]) -> None:
    p, x = keyset["proofs"][0], keyset["pubs"][0]
    assert _single(verifier, p, keyset["pubs"][1]) is False
    for j in range(K):
        y = list(x)
        y[j] = (y[j] + 1) % R
        assert _single(verifier, p, y) is False


def test_single_rejects_input_plus_r(verifier: Any, keyset: dict[str, Any]) -> None:
    p, x = keyset["proofs"][0], keyset["pubs"][0]
    for j in range(K):
        y = list(x)
        y[j] += R  # same residue: must not verify (input malleability)
        assert _single(verifier, p, y) is False
    y = list(x)
    y[0] = 2**256 - 1
    assert _single(verifier, p, y) is False


@pytest.mark.parametrize("part", ["A", "B", "C"])
def test_single_rejects_tampered_point(verifier: Any, keyset: dict[str, Any], part: str) -> None:
    proofs: list[Proof] = keyset["proofs"]
    x = keyset["pubs"][0]
    words = S.encode_proof(proofs[0])
    other = S.encode_proof(proofs[1])
    if part == "A":
        words[0:2] = _g1_add_generator(words[0:2])  # a valid point, the wrong one
    elif part == "B":
        words[2:6] = other[2:6]  # another valid G2 point
    else:
        words[6:8] = _g1_add_generator(words[6:8])
    assert _single(verifier, words, x) is False


@pytest.mark.parametrize("word", [0, 1, 2, 3, 4, 5, 6, 7])
def test_single_rejects_off_curve_and_out_of_range(verifier: Any, keyset: dict[str, Any], word: int) -> None:
    """A precompile failure (not a point, coordinate >= q) is false, never a revert or true."""
    x = keyset["pubs"][0]
    words = S.encode_proof(keyset["proofs"][0])
    off = list(words)
    off[word] = (off[word] + 1) % Q
    assert _single(verifier, off, x) is False
    big = list(words)
    big[word] += Q  # same residue, non-canonical
    assert _single(verifier, big, x) is False


def test_single_rejects_swapped_g2_order(verifier: Any, keyset: dict[str, Any]) -> None:
    words = S.encode_proof(keyset["proofs"][0])
    words[2:6] = [words[3], words[2], words[5], words[4]]  # c0 before c1: the snarkjs JSON order
    assert _single(verifier, words, keyset["pubs"][0]) is False


def test_single_rejects_proof_for_another_key(w3: Web3, verifier: Any, keyset: dict[str, Any]) -> None:
    x = keyset["pubs"][0]
    assert _single(verifier, keyset["other_proof"], x) is False
    other = S.verifier_contract(w3, S.deploy_verifier(w3, keyset["other_vk"]))
    assert _single(other, keyset["other_proof"], x) is True
    assert _single(other, keyset["proofs"][0], x) is False


def test_single_wrong_input_count_reverts(verifier: Any, keyset: dict[str, Any]) -> None:
    words = S.encode_proof(keyset["proofs"][0])
    _reverts_with(verifier.functions.verifyProof(words, keyset["pubs"][0][:-1]), "WrongInputCount(uint256,uint256)")
    _reverts_with(verifier.functions.verifyProof(words, keyset["pubs"][0] + [1]), "WrongInputCount(uint256,uint256)")


def test_low_gas_reverts_instead_of_false(w3: Web3, verifier: Any, keyset: dict[str, Any]) -> None:
    """Too little gas for a precompile must not read as 'invalid proof' (and breaks no estimate)."""
    fn = verifier.functions.verifyProof(S.encode_proof(keyset["proofs"][0]), keyset["pubs"][0])
    tx = {"to": verifier.address, "data": fn._encode_transaction_data(), "gas": 120_000}
    with pytest.raises(ContractCustomError) as exc:
        w3.eth.call(tx)
    assert _selector("InsufficientGas()")[2:] in str(exc.value.data)
    tx["gas"] = 400_000
    assert w3.eth.call(tx)[-1] == 1


# ---------------------------------------------------------------- batches: what must be rejected


@pytest.mark.parametrize("n,bad", [(2, 0), (2, 1), (5, 0), (5, 3), (8, 7)])
def test_batch_with_one_bad_proof_rejected(verifier: Any, keyset: dict[str, Any], n: int, bad: int) -> None:
    proofs = [S.encode_proof(p) for p in keyset["proofs"][:n]]
    pubs = [list(x) for x in keyset["pubs"][:n]]
    tampered = [list(w) for w in proofs]
    tampered[bad][6:8] = _g1_add_generator(tampered[bad][6:8])
    assert _batch(verifier, tampered, pubs) is False
    wrong_inputs = [list(x) for x in pubs]
    wrong_inputs[bad][K - 1] = (wrong_inputs[bad][K - 1] + 1) % R
    assert _batch(verifier, proofs, wrong_inputs) is False
    plus_r = [list(x) for x in pubs]
    plus_r[bad][0] += R
    assert _batch(verifier, proofs, plus_r) is False
    off_curve = [list(w) for w in proofs]
    off_curve[bad][1] = (off_curve[bad][1] + 1) % Q
    assert _batch(verifier, off_curve, pubs) is False
    other = [list(w) for w in proofs]
    other[bad] = S.encode_proof(keyset["other_proof"])
    pubs_other = [list(x) for x in pubs]
    pubs_other[bad] = list(keyset["pubs"][0])
    assert _batch(verifier, other, pubs_other) is False


def test_batch_two_errors_that_cancel_without_randomness_rejected(verifier: Any, keyset: dict[str, Any]) -> None:
    """C_0 + G and C_1 - G cancel in an unweighted sum; the Fiat-Shamir weights must catch it."""
    from py_ecc import optimized_bn128 as bn

    proofs = [S.encode_proof(p) for p in keyset["proofs"][:2]]
    proofs[0][6:8] = _g1_add_generator(proofs[0][6:8])
    c1 = (bn.FQ(proofs[1][6]), bn.FQ(proofs[1][7]), bn.FQ.one())
    x, y = bn.normalize(bn.add(c1, bn.neg(bn.G1)))
    proofs[1][6:8] = [int(x.n), int(y.n)]
    assert _batch(verifier, proofs, keyset["pubs"][:2]) is False


def test_batch_shape_errors_revert(verifier: Any, keyset: dict[str, Any]) -> None:
    _reverts_with(verifier.functions.verifyBatch([], []), "EmptyBatch()")
    proofs = [S.encode_proof(p) for p in keyset["proofs"][:2]]
    flat = keyset["pubs"][0] + keyset["pubs"][1]
    _reverts_with(verifier.functions.verifyBatch(proofs, flat[:-1]), "WrongInputCount(uint256,uint256)")
    _reverts_with(verifier.functions.verifyBatch(proofs[:1], flat), "WrongInputCount(uint256,uint256)")


# ---------------------------------------------------------------- bundles


def test_bundle_good_and_bad(verifier: Any, keyset: dict[str, Any]) -> None:
    for n in (1, 3):
        proofs = keyset["proofs"][:n]
        flat = S.flatten_inputs(keyset["pubs"][:n], K)
        assert verifier.functions.verifyBundle(flat, n, S.encode_bundle(proofs)).call() is True
        # a bundle whose proofs do not match the inputs
        bad = list(proofs)
        bad[-1] = keyset["proofs"][n]
        assert verifier.functions.verifyBundle(flat, n, S.encode_bundle(bad)).call() is False
    flat = S.flatten_inputs(keyset["pubs"][:2], K)
    # a bundle with another number of proofs than the statement has is not a proof of it
    three = S.encode_bundle(keyset["proofs"][:3])
    flat3 = S.flatten_inputs(keyset["pubs"][:3], K)
    assert verifier.functions.verifyBundle(flat, 2, three).call() is False
    two = S.encode_bundle(keyset["proofs"][:2])
    assert verifier.functions.verifyBundle(flat3, 3, two).call() is False
    # public input out of the field inside a bundle
    assert verifier.functions.verifyBundle([flat[0] + R] + flat[1:], 2, two).call() is False


def test_bundle_unknown_version_and_malformed(verifier: Any, keyset: dict[str, Any]) -> None:
    proofs = [S.encode_proof(p) for p in keyset["proofs"][:2]]
    flat = S.flatten_inputs(keyset["pubs"][:2], K)
    f = verifier.functions.verifyBundle
    for version in (0, 2, 2**255):
        v2 = abi_encode(["uint256", "uint256[8][]"], [version, proofs])
        _reverts_with(f(flat, 2, v2), "UnsupportedBundleVersion(uint256)")
    good = S.encode_bundle(keyset["proofs"][:2])
    _reverts_with(f(flat, 2, b""), "MalformedBundle(uint256)")
    _reverts_with(f(flat, 2, good[:32]), "MalformedBundle(uint256)")
    _reverts_with(f(flat, 2, good + b"\x00" * 32), "MalformedBundle(uint256)")  # trailing bytes
    _reverts_with(f(flat, 2, good[:-1]), "MalformedBundle(uint256)")
    wrong_len = good[:64] + (3).to_bytes(32, "big") + good[96:]
    _reverts_with(f(flat, 2, wrong_len), "MalformedBundle(uint256)")
    wrong_off = good[:32] + (0x60).to_bytes(32, "big") + good[64:]
    _reverts_with(f(flat, 2, wrong_off), "MalformedBundle(uint256)")
    empty = abi_encode(["uint256", "uint256[8][]"], [1, []])
    _reverts_with(f([], 0, empty), "EmptyBatch()")
    _reverts_with(f(flat[:-1], 2, good), "WrongInputCount(uint256,uint256)")
    _reverts_with(f(flat, 1, good), "WrongInputCount(uint256,uint256)")
    _reverts_with(f(flat, 2**255, good), "WrongInputCount(uint256,uint256)")  # no overflow panic


def test_key_without_public_inputs(w3: Web3) -> None:
    rng = random.Random(7)
    vk, td = S.unsafe_trapdoor_key(0, rng)
    c = S.verifier_contract(w3, S.deploy_verifier(w3, vk))
    proofs = [S.unsafe_simulated_proof(td, [], rng) for _ in range(3)]
    assert _single(c, proofs[0], []) is True
    assert _batch(c, proofs, [[], [], []]) is True
    assert c.functions.verifyBundle([], 3, S.encode_bundle(proofs)).call() is True
    bad = [S.encode_proof(p) for p in proofs]
    bad[1][6:8] = _g1_add_generator(bad[1][6:8])
    assert _batch(c, bad, [[], [], []]) is False
    _reverts_with(c.functions.verifyProof(S.encode_proof(proofs[0]), [0]), "WrongInputCount(uint256,uint256)")


# ---------------------------------------------------------------- the key checks at deployment


def test_constructor_rejects_bad_keys(w3: Web3, keyset: dict[str, Any]) -> None:
    from relayer.errors import ChainError

    args = S.vk_constructor_args(keyset["vk"])
    cases = []
    a = [list(x) if isinstance(x[0], int) else [list(p) for p in x] for x in args]
    bad_alpha = [list(v) if isinstance(v[0], int) else v for v in a]
    bad_alpha[0] = [a[0][0], (a[0][1] + 1) % Q]
    cases.append(bad_alpha)
    inf_alpha = list(a)
    inf_alpha[0] = [0, 0]
    cases.append(inf_alpha)
    for g2 in (1, 2, 3):  # beta, gamma, delta off the twist, and at infinity
        off = list(a)
        off[g2] = [a[g2][0], a[g2][1], a[g2][2], (a[g2][3] + 1) % Q]
        cases.append(off)
        inf = list(a)
        inf[g2] = [0, 0, 0, 0]
        cases.append(inf)
    bad_ic = list(a)
    bad_ic[4] = [list(p) for p in a[4]]
    bad_ic[4][2] = [bad_ic[4][2][0], bad_ic[4][2][1] + 1]
    cases.append(bad_ic)
    no_ic = list(a)
    no_ic[4] = []
    cases.append(no_ic)
    factory = _factory(w3)
    for c in cases:
        # the revert reason names the key check ...
        data = factory.constructor(*c).data_in_transaction
        with pytest.raises(ContractCustomError) as exc:
            w3.eth.call({"from": w3.eth.accounts[0], "data": data, "gas": 5_000_000})
        assert _selector("InvalidVerifyingKey(uint256)")[2:] in str(exc.value.data)
        # ... and a real deployment fails
        with pytest.raises(ChainError):
            deploy(w3, S.VERIFIER_CONTRACT, *c, gas=5_000_000)
    # and the untouched key deploys
    assert deploy(w3, S.VERIFIER_CONTRACT, *a).functions.nPublic().call() == K


def _constructor_call(w3: Web3, args: list[Any], gas: int) -> str | None:
    """eth_call of the verifier's creation with `gas`: None when it deploys, else the revert data (hex)."""
    data = _factory(w3).constructor(*args).data_in_transaction
    try:
        w3.eth.call({"from": w3.eth.accounts[0], "data": data, "gas": gas})
    except (ContractCustomError, ContractLogicError, Web3RPCError) as exc:
        got = exc.data if isinstance(getattr(exc, "data", None), str) else str(exc)
        return str(got)
    return None


def test_vk_over_the_code_size_limit_reverts_vk_store_failed(w3: Web3, keyset: dict[str, Any]) -> None:
    """The VK's data contract holds 0x00 || words as runtime code, capped at 24576 bytes by EIP-170:
    1 + 32 * (16 + 2k) <= 24576 holds up to k = 375 public inputs. At k = 376 the CREATE fails and the
    constructor says so (VkStoreFailed(words)) instead of deploying a verifier without a key."""
    a = S.vk_constructor_args(keyset["vk"])

    def with_k(k: int) -> list[Any]:
        # valid IC points (the key check runs first), the real ones repeated
        return [*a[:4], [a[4][i % len(a[4])] for i in range(k + 1)]]

    gas = 25_000_000
    assert _constructor_call(w3, with_k(375), gas) is None  # 24513 bytes: fits
    data = _constructor_call(w3, with_k(376), gas)
    words = 16 + 2 * 376
    assert data is not None and 1 + 32 * words == 24577
    assert _selector("VkStoreFailed(uint256)")[2:] + words.to_bytes(32, "big").hex() in data, data
    # a real deployment fails too (ChainError from the deploy helper), nothing is left on chain
    from relayer.errors import ChainError

    with pytest.raises(ChainError):
        deploy(w3, S.VERIFIER_CONTRACT, *with_k(376), gas=gas)


def test_vk_store_starved_of_gas_reverts_vk_store_failed(w3: Web3, keyset: dict[str, Any]) -> None:
    """A deployment with too little gas for the data contract's code deposit (200 gas a byte): the
    CREATE runs out of gas, the 1/64 kept back by EIP-150 reverts with VkStoreFailed, never a verifier
    whose key address is zero (every later verification would read an empty key)."""
    args = S.vk_constructor_args(keyset["vk"])
    words = 16 + 2 * K
    assert _constructor_call(w3, args, 5_000_000) is None
    # gas limits from the intrinsic cost to the full deployment cost: the ones that stop inside the
    # CREATE revert VkStoreFailed; no limit may deploy the verifier with an empty key
    needed = w3.eth.estimate_gas({"from": w3.eth.accounts[0], "data": _factory(w3).constructor(*args).data_in_transaction})
    starved = []
    for gas in range(60_000, needed, 5_000):
        data = _constructor_call(w3, args, gas)
        assert data is not None, f"deployed with {gas} gas, below the {needed} it needs"
        if _selector("VkStoreFailed(uint256)")[2:] + words.to_bytes(32, "big").hex() in data:
            starved.append(gas)
    assert starved, "no gas limit made the VK's CREATE fail"
    h = w3.eth.send_transaction({"from": w3.eth.accounts[0], "data": _factory(w3).constructor(*args).data_in_transaction,
                                 "gas": starved[0]})
    rcpt = w3.eth.wait_for_transaction_receipt(h)
    assert rcpt["status"] == 0 and rcpt["contractAddress"] is not None
    assert w3.eth.get_code(rcpt["contractAddress"]) == b""


# ---------------------------------------------------------------- export


def test_export_deploy_json_deploys_without_compiler(w3: Web3, keyset: dict[str, Any], tmp_path) -> None:
    import json

    paths = S.export_verifier(keyset["vk"], tmp_path)
    info = json.loads(paths["deploy"].read_text())
    assert info["vkHash"] == "0x" + S.vk_hash(keyset["vk"]).hex() and info["nPublic"] == K
    sender = w3.eth.accounts[0]
    tx = w3.eth.send_transaction({"from": sender, "data": info["bytecode"], "gas": 3_000_000})
    rcpt = w3.eth.wait_for_transaction_receipt(tx)
    assert rcpt["status"] == 1
    c = w3.eth.contract(address=rcpt["contractAddress"], abi=info["abi"])
    assert _single(c, keyset["proofs"][2], keyset["pubs"][2]) is True
    assert _single(c, keyset["proofs"][2], keyset["pubs"][3]) is False
    src = paths["source"].read_text()
    assert "contract Groth16Verifier is Groth16VerifierBase" in src and "import " not in src
    assert src.count("pragma solidity") == 1


def _compile_standalone(source: str) -> tuple[list[dict[str, Any]], str]:
    import json
    import subprocess

    from relayer.tools import node_binary, npm_script

    job = {
        "language": "Solidity",
        "sources": {"Groth16Verifier.sol": {"content": source}},
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "evmVersion": "cancun",
            "outputSelection": {"*": {"Groth16Verifier": ["abi", "evm.bytecode.object"]}},
        },
    }
    driver = "const s=require(process.argv[1]);process.stdout.write(s.compile(require('fs').readFileSync(0,'utf8')))"
    out = subprocess.run(
        [node_binary(), "-e", driver, str(npm_script("solc"))],
        input=json.dumps(job), capture_output=True, text=True, check=True, timeout=300,
    )
    res = json.loads(out.stdout)
    errors = [e["formattedMessage"] for e in res.get("errors", []) if e["severity"] == "error"]
    assert not errors, errors
    c = res["contracts"]["Groth16Verifier.sol"]["Groth16Verifier"]
    return c["abi"], "0x" + c["evm"]["bytecode"]["object"]


def test_export_standalone_source_compiles_and_verifies(w3: Web3, keyset: dict[str, Any], tmp_path) -> None:
    """The exported .sol (key as constants) behaves like the generic contract on the same proofs."""
    paths = S.export_verifier(keyset["vk"], tmp_path)
    abi, bytecode = _compile_standalone(paths["source"].read_text())
    sender = w3.eth.accounts[0]
    tx = w3.eth.contract(abi=abi, bytecode=bytecode).constructor().transact({"from": sender})
    c = w3.eth.contract(address=w3.eth.wait_for_transaction_receipt(tx)["contractAddress"], abi=abi)
    assert bytes(c.functions.vkHash().call()) == S.vk_hash(keyset["vk"])
    assert _single(c, keyset["proofs"][0], keyset["pubs"][0]) is True
    assert _single(c, keyset["proofs"][0], keyset["pubs"][1]) is False
    assert _batch(c, keyset["proofs"][:4], keyset["pubs"][:4]) is True
    bad = [S.encode_proof(p) for p in keyset["proofs"][:4]]
    bad[2][6:8] = _g1_add_generator(bad[2][6:8])
    assert _batch(c, bad, keyset["pubs"][:4]) is False


# ---------------------------------------------------------------- gas


def test_measure_verifier_gas(w3: Web3) -> None:
    g = S.measure_verifier_gas(w3, max_batch=4, n_public=12)
    single, batch = g["verify_proof_gas"], g["verify_batch_gas"]
    # EIP-1108 floor of the precompile work alone: 4 pairs + 12 * (ecMul + ecAdd)
    assert 45_000 + 4 * 34_000 + 12 * 6_150 < single < 360_000
    assert abs(batch[1] - single) < 5_000
    # each extra proof costs one pair and two scalar multiplications (plus calldata), not 4 pairs
    for n in range(2, 5):
        step = batch[n] - batch[n - 1]
        assert 34_000 + 2 * 6_000 < step < 34_000 + 2 * 6_000 + 30_000, (n, step)
    assert set(g["verify_bundle_gas"]) == {1, 2, 3, 4}


# ---------------------------------------------------------------- real proofs from snarkjs

VECTORS = __import__("pathlib").Path(__file__).parent / "vectors" / "groth16_snarkjs.json"


def _g1_json(v: list[str]) -> Any:
    x, y, z = (int(s) for s in v)
    assert z == 1 or (x, y, z) == (0, 1, 0)
    return None if z == 0 else (x, y)


def _g2_json(v: list[list[str]]) -> Any:
    # snarkjs JSON: [[x.c0, x.c1], [y.c0, y.c1], [z.c0, z.c1]] (c0 first, unlike EIP-197)
    (x0, x1), (y0, y1), z = ([int(s) for s in pair] for pair in v)
    assert z == [1, 0]
    return ((x0, x1), (y0, y1))


@pytest.fixture(scope="module")
def snarkjs_vectors() -> dict[str, Any]:
    import json

    doc = json.loads(VECTORS.read_text())
    k = doc["verification_key"]
    vk = VerifyingKey(
        _g1_json(k["vk_alpha_1"]), _g2_json(k["vk_beta_2"]), _g2_json(k["vk_gamma_2"]), _g2_json(k["vk_delta_2"]),
        tuple(_g1_json(p) for p in k["IC"]),
    )
    assert vk.n_public == int(k["nPublic"])
    cases = [
        ([int(s) for s in c["public"]],
         Proof(_g1_json(c["proof"]["pi_a"]), _g2_json(c["proof"]["pi_b"]), _g1_json(c["proof"]["pi_c"])))
        for c in doc["cases"]
    ]
    return {"vk": vk, "cases": cases}


@pytest.fixture(scope="module")
def snarkjs_verifier(w3: Web3, snarkjs_vectors: dict[str, Any]) -> Any:
    return S.verifier_contract(w3, S.deploy_verifier(w3, snarkjs_vectors["vk"]))


def test_snarkjs_proofs_verify_on_chain(snarkjs_verifier: Any, snarkjs_vectors: dict[str, Any]) -> None:
    cases = snarkjs_vectors["cases"]
    for pub, proof in cases:
        assert _single(snarkjs_verifier, proof, pub) is True
    for n in range(1, len(cases) + 1):
        assert _batch(snarkjs_verifier, [p for _, p in cases[:n]], [x for x, _ in cases[:n]]) is True
    flat = S.flatten_inputs([x for x, _ in cases], 3)
    assert snarkjs_verifier.functions.verifyBundle(flat, len(cases), S.encode_bundle([p for _, p in cases])).call()


def test_snarkjs_proofs_rejected_for_other_statements(snarkjs_verifier: Any, snarkjs_vectors: dict[str, Any]) -> None:
    cases = snarkjs_vectors["cases"]
    (pub0, p0), (pub1, p1) = cases[0], cases[1]
    assert _single(snarkjs_verifier, p0, pub1) is False
    assert _single(snarkjs_verifier, p0, [pub0[0] + 1, *pub0[1:]]) is False  # a wrong output c
    assert _single(snarkjs_verifier, p0, [pub0[0] + R, *pub0[1:]]) is False
    assert _single(snarkjs_verifier, Proof(p0.a, p1.b, p0.c), pub0) is False
    # one proof swapped for another statement's inside a batch of all of them
    proofs = [p for _, p in cases]
    pubs = [x for x, _ in cases]
    proofs[2], proofs[3] = proofs[3], proofs[2]
    assert _batch(snarkjs_verifier, proofs, pubs) is False


def test_python_verifier_agrees_on_negatives(snarkjs_vectors: dict[str, Any], keyset: dict[str, Any]) -> None:
    """The Python verifier (relayer.zk.groth16.verifier) rejects what the contract rejects."""
    from relayer.zk.groth16 import verifier as pv

    vk = snarkjs_vectors["vk"]
    (pub0, p0), (pub1, p1) = snarkjs_vectors["cases"][:2]
    assert pv.verify(vk, pub0, p0) is True
    assert pv.verify(vk, pub1, p0) is False  # other public inputs
    assert pv.verify(vk, [pub0[0] + R, *pub0[1:]], p0) is False  # input + r
    assert pv.verify(vk, pub0, Proof((p0.a[0], (p0.a[1] + 1) % Q), p0.b, p0.c)) is False  # off the curve
    bad_b = _g2_point_outside_subgroup()
    assert pv.verify(vk, pub0, Proof(p0.a, bad_b, p0.c)) is False  # B outside the subgroup
    assert pv.verify(keyset["other_vk"], keyset["pubs"][0], keyset["proofs"][0]) is False  # another key
    assert pv.verify_batch(vk, [(pub0, p0), (pub0, p1)]) is False  # one bad proof in a batch


# ---------------------------------------------------------------- G2 outside the subgroup, low gas


def _g2_point_outside_subgroup() -> tuple[tuple[int, int], tuple[int, int]]:
    """A point on the twist but not in the order-r subgroup (curve_helpers: the twist's cofactor is
    about 2^254, so the first point found is outside it; checked here)."""
    pt = first_twist_point()
    assert G2.is_on_curve(pt) and not G2.in_subgroup(pt)
    return pt


def test_b_outside_subgroup_rejected(verifier: Any, keyset: dict[str, Any], w3: Web3) -> None:
    bad_b = _g2_point_outside_subgroup()
    x = keyset["pubs"][0]
    words = S.encode_proof(keyset["proofs"][0])
    words[2:6] = [bad_b[0][1], bad_b[0][0], bad_b[1][1], bad_b[1][0]]
    assert _single(verifier, words, x) is False
    batch = [S.encode_proof(p) for p in keyset["proofs"][:3]]
    batch[2][2:6] = words[2:6]
    assert _batch(verifier, batch, keyset["pubs"][:3]) is False
    # and a key whose delta is outside the subgroup cannot be deployed
    args = S.vk_constructor_args(keyset["vk"])
    args[3] = [bad_b[0][1], bad_b[0][0], bad_b[1][1], bad_b[1][0]]
    factory = _factory(w3)
    with pytest.raises(ContractCustomError) as exc:
        w3.eth.call({"from": w3.eth.accounts[0], "data": factory.constructor(*args).data_in_transaction})
    assert _selector("InvalidVerifyingKey(uint256)")[2:] in str(exc.value.data)


def test_no_gas_limit_makes_a_valid_batch_read_false(w3: Web3, verifier: Any, keyset: dict[str, Any]) -> None:
    """Below its estimate a valid batch reverts (InsufficientGas or out of gas); it never answers
    false, so a feed can never record a valid bundle as invalid because of the gas limit."""
    proofs = [S.encode_proof(p) for p in keyset["proofs"][:3]]
    flat = [x for xs in keyset["pubs"][:3] for x in xs]
    fn = verifier.functions.verifyBatch(proofs, flat)
    data = fn._encode_transaction_data()
    est = fn.estimate_gas({"from": w3.eth.accounts[0]})
    assert w3.eth.call({"to": verifier.address, "data": data, "gas": est})[-1] == 1
    reverted = 0
    for gas in range(60_000, est, 9_973):
        try:
            out = w3.eth.call({"to": verifier.address, "data": data, "gas": gas})
        except (ContractCustomError, ContractLogicError, Web3RPCError):
            reverted += 1  # InsufficientGas, out of gas, or below the intrinsic gas floor
            continue
        assert out[-1] == 1, f"gas {gas}: returned false"
    assert reverted > 10


# ---------------------------------------------------------------- proofs from our own prover


@pytest.fixture(scope="module")
def own_proofs() -> dict[str, Any]:
    """dev_setup + prove (reference backend) on a small circuit: out = x*y^2*z + x, x public."""
    from relayer.zk.backends import get_backend
    from relayer.zk.circuit import Circuit
    from relayer.zk.groth16.prover import prove
    from relayer.zk.groth16.setup import dev_setup

    c = Circuit("solverifier")
    x = c.public_input("x")
    y = c.private_input("y")
    z = c.private_input("z")
    t = c.mul(x, y, "t")
    u = c.mul(t, y, "u")
    v = c.mul(u, z, "v")
    c.output("out", v + x)
    backend = get_backend("reference")
    r1cs = c.compile()
    pk = dev_setup(r1cs, backend)
    items = [
        prove(pk, c.witness(w), backend, r1cs=r1cs)[::-1]
        for w in ({"x": 3, "y": 5, "z": 7}, {"x": 0, "y": 2, "z": 9}, {"x": R - 1, "y": 4, "z": 1})
    ]
    return {"vk": pk.vk, "items": items}  # items: (public, proof)


def test_own_prover_proofs_verify_on_chain(w3: Web3, own_proofs: dict[str, Any]) -> None:
    from relayer.zk.groth16.verifier import verify_batch

    vk, items = own_proofs["vk"], own_proofs["items"]
    c = S.verifier_contract(w3, S.deploy_verifier(w3, vk))
    for pub, proof in items:
        assert _single(c, proof, pub) is True
    pubs, proofs = [x for x, _ in items], [p for _, p in items]
    assert _batch(c, proofs, pubs) is True
    assert c.functions.verifyBundle(S.flatten_inputs(pubs, vk.n_public), 3, S.encode_bundle(proofs)).call() is True
    # the on-chain and the Python batch verifier give the same verdicts
    variants = {
        "valid": (proofs, pubs),
        "swapped inputs": (proofs, [pubs[1], pubs[0], pubs[2]]),
        "wrong output": (proofs, [pubs[0], pubs[1], [(pubs[2][0] + 1) % R, pubs[2][1]]]),
    }
    for name, (ps, xs) in variants.items():
        on_chain = _batch(c, ps, xs)
        assert on_chain is verify_batch(vk, list(zip(xs, ps))), name
        assert on_chain is (name == "valid"), name


# ---------------------------------------------------------------- any single-word change is caught


def test_any_tampered_word_rejects_the_batch(verifier: Any, keyset: dict[str, Any]) -> None:
    """Property: changing any one word of any proof or input of a valid batch makes it false
    (or, for an input pushed out of range, false as well); never true, never a revert."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        n=st.integers(1, MAX_N),
        data=st.data(),
        delta=st.one_of(st.integers(1, 2**64), st.sampled_from([R, Q, 2**255, R - 1, Q - 1])),
    )
    def check(n: int, data: Any, delta: int) -> None:
        proofs = [S.encode_proof(p) for p in keyset["proofs"][:n]]
        flat = [x for xs in keyset["pubs"][:n] for x in xs]
        if data.draw(st.booleans()):
            i, w = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, 7))
            proofs[i][w] = (proofs[i][w] + delta) % 2**256
        else:
            j = data.draw(st.integers(0, len(flat) - 1))
            flat[j] = (flat[j] + delta) % 2**256
        assert verifier.functions.verifyBatch(proofs, flat).call() is False

    check()


def test_flatten_inputs_takes_exact_integers_only() -> None:
    """A float or bool public input is refused, not truncated by int() into another value."""
    assert S.flatten_inputs([[1, 2, R - 1]], 3) == [1, 2, R - 1]
    for bad in (1.5, 2.0, True, "7"):
        with pytest.raises(FormatError, match="exact integer"):
            S.flatten_inputs([[1, bad, 3]], 3)
