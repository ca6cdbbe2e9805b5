"""Groth16 on the EVM: encode keys, proofs and bundles for contracts/src/Groth16Verifier.sol, deploy
the committed generic verifier (no compiler needed), export a standalone verifier source, and
measure verification gas.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak

from relayer.contracts import deploy, load_full_artifact
from relayer.errors import ChainError, FormatError, ToolError, VerificationError
from relayer.tools import REPO_ROOT
from relayer.zk.curve import G1_GEN, G2_GEN, g1_mul, g2_mul, is_on_curve_g1, is_on_curve_g2
from relayer.zk.field import R, G1Point, G2Point
from relayer.zk.groth16.types import Proof, VerifyingKey

VERIFIER_CONTRACT = "Groth16Verifier"
# Bundle versions (contracts/src/IProofBundleVerifier.sol): 1 = abi.encode(uint256(1), uint256[8][]).
BUNDLE_VERSION_1 = 1
# Public inputs per proof in SolvencyFeed's layout: the default shape for gas measurements.
FEED_PUBLIC_INPUTS = 12

_SOURCES = REPO_ROOT / "contracts" / "src"


# ---------------------------------------------------------------- point checks and encodings


def encode_g1(p: G1Point, what: str = "G1 point") -> list[int]:
    """[x, y]; infinity is (0, 0) as the precompiles expect (EIP-196)."""
    if not is_on_curve_g1(p):
        raise FormatError(f"{what} {p!r} is not a point of BN254 G1 with coordinates < q")
    return [0, 0] if p is None else [p[0], p[1]]


def encode_g2(p: G2Point, what: str = "G2 point") -> list[int]:
    """[x.c1, x.c0, y.c1, y.c0]: EIP-197 puts the imaginary part first."""
    if not is_on_curve_g2(p):  # the G2 subgroup is checked on-chain (the pairing precompile)
        raise FormatError(f"{what} {p!r} is not a point of the BN254 twist with coordinates < q")
    if p is None:
        return [0, 0, 0, 0]
    (x0, x1), (y0, y1) = p
    return [x1, x0, y1, y0]


def encode_proof(proof: Proof) -> list[int]:
    """The 8 words [A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y] of verifyProof/bundles."""
    return [*encode_g1(proof.a, "proof A"), *encode_g2(proof.b, "proof B"), *encode_g1(proof.c, "proof C")]


def vk_words(vk: VerifyingKey) -> list[int]:
    """The 16 + 2k VK words in the contract's layout (alpha, beta, gamma, delta, IC_0..IC_k)."""
    if not vk.ic:
        raise FormatError("verifying key has no IC points (it needs IC_0 at least)")
    if vk.alpha_g1 is None or None in (vk.beta_g2, vk.gamma_g2, vk.delta_g2):
        raise FormatError("verifying key has alpha, beta, gamma or delta at infinity: not a real setup")
    words = [
        *encode_g1(vk.alpha_g1, "vk alpha"),
        *encode_g2(vk.beta_g2, "vk beta"),
        *encode_g2(vk.gamma_g2, "vk gamma"),
        *encode_g2(vk.delta_g2, "vk delta"),
    ]
    for i, p in enumerate(vk.ic):
        words += encode_g1(p, f"vk IC[{i}]")
    return words


def vk_hash(vk: VerifyingKey) -> bytes:
    """keccak256 of the VK words (what Groth16Verifier.vkHash() returns)."""
    return keccak(b"".join(w.to_bytes(32, "big") for w in vk_words(vk)))


def vk_constructor_args(vk: VerifyingKey) -> list[Any]:
    """Arguments of Groth16Verifier's constructor: alpha[2], beta[4], gamma[4], delta[4], ic[k+1][2]."""
    w = vk_words(vk)
    ic = [[w[14 + 2 * i], w[15 + 2 * i]] for i in range(len(vk.ic))]
    return [w[0:2], w[2:6], w[6:10], w[10:14], ic]


def encode_bundle(proofs: Sequence[Proof]) -> bytes:
    """Bundle version 1: abi.encode(uint256(1), uint256[8][] proofs), proofs in chain order."""
    if not proofs:
        raise FormatError("a proof bundle needs at least one proof")
    return abi_encode(["uint256", "uint256[8][]"], [BUNDLE_VERSION_1, [encode_proof(p) for p in proofs]])


def flatten_inputs(inputs: Sequence[Sequence[int]], n_public: int) -> list[int]:
    """Concatenate per-proof public inputs (the `inputs` of verifyBatch/verifyBundle), checked."""
    flat: list[int] = []
    for i, xs in enumerate(inputs):
        if len(xs) != n_public:
            raise FormatError(f"proof {i} has {len(xs)} public inputs, the key expects {n_public}")
        for j, x in enumerate(xs):
            # exact ints only: int() would truncate a float (or read a bool) into a different input
            if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x < R:
                raise FormatError(f"public input {j} of proof {i} is not in [0, r) as an exact integer: {x!r}")
        flat += [int(x) for x in xs]
    return flat


# ---------------------------------------------------------------- deployment and export


def verifier_contract(w3: Any, address: str) -> Any:
    """A web3 contract object for a deployed Groth16Verifier."""
    abi = load_full_artifact(VERIFIER_CONTRACT)["abi"]
    return w3.eth.contract(address=w3.to_checksum_address(address), abi=abi)


def deploy_verifier(w3: Any, vk: VerifyingKey, sender: str | None = None) -> str:
    """Deploy the committed generic Groth16Verifier with `vk` fixed in it; returns its address.

    Checks afterwards that the contract holds exactly this key (vkHash, nPublic).
    """
    contract = deploy(w3, VERIFIER_CONTRACT, *vk_constructor_args(vk), sender=sender)
    got = bytes(contract.functions.vkHash().call())
    if got != vk_hash(vk) or contract.functions.nPublic().call() != vk.n_public:
        raise ChainError(f"verifier at {contract.address} holds key {got.hex()}, expected {vk_hash(vk).hex()}")
    return str(contract.address)


def deployable_bytecode(vk: VerifyingKey) -> bytes:
    """Creation code of the generic verifier followed by its ABI-encoded constructor arguments."""
    art = load_full_artifact(VERIFIER_CONTRACT)
    args = abi_encode(["uint256[2]", "uint256[4]", "uint256[4]", "uint256[4]", "uint256[2][]"], vk_constructor_args(vk))
    return bytes.fromhex(art["bytecode"][2:]) + args


def _strip_header(source: str) -> str:
    """Drop SPDX, pragma and import lines so several units can be concatenated into one file."""
    keep = [
        line
        for line in source.splitlines()
        if not line.startswith(("// SPDX-License-Identifier", "pragma solidity", "import "))
    ]
    return "\n".join(keep).strip("\n") + "\n"


def standalone_source(vk: VerifyingKey) -> str:
    """One Solidity file: IProofBundleVerifier, Groth16VerifierBase (from contracts/src, verbatim)
    and a `Groth16Verifier` whose key is a set of constants (cheapest to read, no data contract)."""
    units = []
    for name in ("IProofBundleVerifier.sol", "Groth16VerifierBase.sol"):
        path = _SOURCES / name
        if not path.is_file():
            raise ToolError(f"{path} not found: export_verifier needs the repository's contracts/src")
        units.append(_strip_header(path.read_text()))
    words = vk_words(vk)
    stores = "\n".join(
        f"            mstore(add(dst, {hex(32 * i)}), {hex(w)})" for i, w in enumerate(words)
    )
    pragma = next(
        line for line in (_SOURCES / "Groth16VerifierBase.sol").read_text().splitlines() if line.startswith("pragma")
    )
    generated = f"""
/// @notice Groth16 verifier with its verifying key compiled in as constants.
/// Generated by relayer.zk.solidity.export_verifier; vkHash = 0x{vk_hash(vk).hex()}.
contract Groth16Verifier is Groth16VerifierBase {{
    uint256 private constant N_PUBLIC = {vk.n_public};
    bytes32 private constant VK_HASH = 0x{vk_hash(vk).hex()};

    function nPublic() public pure override returns (uint256) {{
        return N_PUBLIC;
    }}

    function vkHash() public pure override returns (bytes32) {{
        return VK_HASH;
    }}

    function _loadVk(uint256 dst) internal pure override {{
        assembly ("memory-safe") {{
{stores}
        }}
    }}
}}
"""
    return "// SPDX-License-Identifier: MIT\n" + pragma + "\n\n" + "\n".join(units) + generated


def _decimal_strings(v: Any) -> Any:
    return [_decimal_strings(x) for x in v] if isinstance(v, list) else str(v)


def export_verifier(vk: VerifyingKey, out_dir: Path | str) -> dict[str, Path]:
    """Write `Groth16Verifier.sol` (standalone source, key as constants, for users who compile
    themselves) and `deploy.json` (generic artifact + constructor args: send as a contract
    creation, no compiler needed). Returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sol_path = out / "Groth16Verifier.sol"
    sol_path.write_text(standalone_source(vk))
    art = load_full_artifact(VERIFIER_CONTRACT)
    info = {
        "contractName": VERIFIER_CONTRACT,
        "abi": art["abi"],
        "bytecode": "0x" + deployable_bytecode(vk).hex(),
        # decimal strings: JSON numbers lose precision above 2^53 in most readers
        "constructorArgs": _decimal_strings(vk_constructor_args(vk)),
        "vkHash": "0x" + vk_hash(vk).hex(),
        "nPublic": vk.n_public,
        "artifactSourceHash": art["sourceHash"],
        "compiler": art["compiler"],
    }
    json_path = out / "deploy.json"
    json_path.write_text(json.dumps(info, indent=1) + "\n")
    return {"source": sol_path, "deploy": json_path}


# ---------------------------------------------------------------- simulated proofs (tests, gas)


@dataclass(frozen=True)
class UnsafeTrapdoor:
    """The secret exponents of a simulated key. Whoever knows them can forge any proof: tests and
    gas measurements only, never a real verifier."""

    alpha: int
    beta: int
    gamma: int
    delta: int
    ic: tuple[int, ...]  # IC_j = ic[j] * G1


def unsafe_trapdoor_key(n_public: int, rng: random.Random) -> tuple[VerifyingKey, UnsafeTrapdoor]:
    """A verifying key with known exponents, for simulating proofs without a circuit."""
    td = UnsafeTrapdoor(*(rng.randrange(1, R) for _ in range(4)), ic=tuple(rng.randrange(1, R) for _ in range(n_public + 1)))
    g1, g2 = G1_GEN, G2_GEN
    vk = VerifyingKey(g1_mul(g1, td.alpha), g2_mul(g2, td.beta), g2_mul(g2, td.gamma), g2_mul(g2, td.delta),
                      tuple(g1_mul(g1, u) for u in td.ic))
    return vk, td


def unsafe_simulated_proof(td: UnsafeTrapdoor, public: Sequence[int], rng: random.Random) -> Proof:
    """A proof that satisfies e(A,B) = e(alpha,beta) e(vk_x,gamma) e(C,delta) for `public`:
    A = a*G1, B = b*G2, C = (a*b - alpha*beta - gamma*sum_j x_j*u_j)/delta * G1, x_0 = 1."""
    if len(public) != len(td.ic) - 1:
        raise FormatError(f"{len(public)} public inputs for a key with {len(td.ic) - 1}")
    a, b = rng.randrange(1, R), rng.randrange(1, R)
    x_u = sum(x * u for x, u in zip((1, *public), td.ic)) % R
    c = (a * b - td.alpha * td.beta - td.gamma * x_u) * pow(td.delta, -1, R) % R
    return Proof(g1_mul(G1_GEN, a), g2_mul(G2_GEN, b), g1_mul(G1_GEN, c))


# ---------------------------------------------------------------- gas


def measure_verifier_gas(
    w3: Any,
    vk: VerifyingKey | None = None,
    items: Sequence[tuple[Sequence[int], Proof]] | None = None,
    max_batch: int = 8,
    n_public: int = FEED_PUBLIC_INPUTS,
    sender: str | None = None,
    seed: int = 1,
    address: str | None = None,
) -> dict[str, Any]:
    """Gas of Groth16Verifier on `w3`'s chain: deployment, verifyProof, and verifyBatch /
    verifyBundle for n = 1..max_batch, as eth_estimateGas of a transaction calling the view
    (so it includes the 21000 base and calldata). `items` are (public inputs, proof) pairs under
    `vk`, reused cyclically when fewer than max_batch; without them, simulated proofs under a
    trapdoor key with n_public inputs are used (gas depends only on the shapes and on which
    inputs are zero). `address`: measure that already deployed verifier of `vk` (e.g. one
    compiled from export_verifier's source) instead of deploying the generic contract.
    Every measured call is checked to return true."""
    rng = random.Random(seed)
    if vk is None:
        vk, td = unsafe_trapdoor_key(n_public, rng)
        pubs = [[rng.randrange(1, R) for _ in range(n_public)] for _ in range(max_batch)]
        items = [(p, unsafe_simulated_proof(td, p, rng)) for p in pubs]
        source = "simulated"
    else:
        if not items:
            raise FormatError("measure_verifier_gas: give (public, proof) items with the key")
        source = "given"
    assert items is not None
    sender = sender or w3.eth.default_account or w3.eth.accounts[0]
    if address is None:
        contract = deploy(w3, VERIFIER_CONTRACT, *vk_constructor_args(vk), sender=sender)
    else:
        if source == "simulated":
            raise FormatError("measure_verifier_gas: a deployed verifier needs its vk and items")
        contract = verifier_contract(w3, address)
    tx = {"from": sender}

    def measured(fn: Any) -> int:
        if fn.call(tx) is not True:
            raise VerificationError("measure_verifier_gas: the verifier rejected a proof being measured")
        return int(fn.estimate_gas(tx))

    pub0, proof0 = items[0]
    single = measured(contract.functions.verifyProof(encode_proof(proof0), list(pub0)))
    batch: dict[int, int] = {}
    bundle: dict[int, int] = {}
    for n in range(1, max_batch + 1):
        chosen = [items[i % len(items)] for i in range(n)]
        proofs = [encode_proof(p) for _, p in chosen]
        flat = flatten_inputs([x for x, _ in chosen], vk.n_public)
        batch[n] = measured(contract.functions.verifyBatch(proofs, flat))
        bundle[n] = measured(
            contract.functions.verifyBundle(flat, n, encode_bundle([p for _, p in chosen]))
        )
    # deployment of the generic contract for this key (VK data contract included)
    deploy_gas = int(w3.eth.estimate_gas({"from": sender, "data": "0x" + deployable_bytecode(vk).hex()}))
    return {
        "contract": VERIFIER_CONTRACT if address is None else str(contract.address),
        "proofs": source,
        "n_public": vk.n_public,
        "deploy_gas": deploy_gas,
        "verify_proof_gas": single,
        "verify_batch_gas": batch,
        "verify_bundle_gas": bundle,
        "batch_gas_per_proof": {n: batch[n] // n for n in batch},
        "chain_id": int(w3.eth.chain_id),
        "method": "eth_estimateGas of a transaction calling the view (includes 21000 + calldata)",
    }

