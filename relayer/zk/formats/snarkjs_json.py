"""snarkjs JSON formats: verification_key.json, proof.json, public.json (read and write).

Layouts as written by snarkjs 0.7.6 (`zkey_export_verificationkey.js`, `groth16_prove.js`): decimal
strings; G1 = [x, y, "1"]; G2 = [[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]; vk_alphabeta_12 =
e(alpha, beta) in ffjavascript's tower Fq12 = Fq6[w]/(w² − v), Fq6 = Fq2[v]/(v³ − (9 + u)).
Everything read is validated: integers in range, points on the curve, G2 points in the subgroup.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from relayer.errors import FormatError, VerificationError
from relayer.zk.field import R
from relayer.zk.groth16.keys import g1_from_json, g1_json, g2_from_json, g2_json
from relayer.zk.groth16.types import Proof, VerifyingKey
from relayer.zk.pairing import final_exponentiation, miller_loop


def alphabeta_12(vk: VerifyingKey) -> list[list[list[str]]]:
    """e(alpha_1, beta_2) in snarkjs's vk_alphabeta_12 layout, with relayer.zk.pairing (milliseconds).

    ffjavascript's final exponentiation (Fuentes-Castañeda et al.) yields e^m with m = 2z(6z² + 3z + 1),
    z the BN parameter: exactly what `final_exponentiation` computes (pairing.HARD_MULTIPLE), and both
    use the tower Fq12 = Fq6[w]/(w² − v), so row i, column j is the flat slot 6i + 2j (re, im).
    tests/test_snarkjs_interop.py checks the value against snarkjs's file and against py_ecc.
    """
    if vk.alpha_g1 is None or vk.beta_g2 is None:
        raise FormatError("alpha/beta of the verifying key are the point at infinity")
    try:
        e = final_exponentiation(miller_loop([(vk.alpha_g1, vk.beta_g2)]))
    except VerificationError as exc:
        raise FormatError(f"verification key: alpha/beta are not curve points ({exc})") from exc
    return [[[str(e[6 * i + 2 * j]), str(e[6 * i + 2 * j + 1])] for j in range(3)] for i in range(2)]


def vk_to_json(vk: VerifyingKey, with_alphabeta: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.n_public,
        "vk_alpha_1": g1_json(vk.alpha_g1),
        "vk_beta_2": g2_json(vk.beta_g2),
        "vk_gamma_2": g2_json(vk.gamma_g2),
        "vk_delta_2": g2_json(vk.delta_g2),
    }
    if with_alphabeta:
        out["vk_alphabeta_12"] = alphabeta_12(vk)
    out["IC"] = [g1_json(p) for p in vk.ic]
    return out


def vk_from_json(obj: Any) -> VerifyingKey:
    if not isinstance(obj, dict):
        raise FormatError("verification key: expected a JSON object")
    if obj.get("protocol") != "groth16":
        raise FormatError(f"verification key: protocol is {obj.get('protocol')!r}, expected 'groth16'")
    if obj.get("curve") not in ("bn128", "bn254"):
        raise FormatError(f"verification key: curve is {obj.get('curve')!r}, expected 'bn128'")
    try:
        ic = obj["IC"]
        n_pub_raw = obj["nPublic"]
        if not isinstance(ic, list):
            raise FormatError(f"verification key: IC must be a list of G1 points, got {type(ic).__name__}")
        # snarkjs writes a JSON integer; never truncate a float or coerce null/garbage into a count
        if isinstance(n_pub_raw, bool) or not isinstance(n_pub_raw, int) or n_pub_raw < 0:
            raise FormatError(f"verification key: nPublic must be a non-negative integer, got {n_pub_raw!r}")
        n_pub = n_pub_raw
        vk = VerifyingKey(
            alpha_g1=g1_from_json(obj["vk_alpha_1"], "vk_alpha_1"),
            beta_g2=g2_from_json(obj["vk_beta_2"], "vk_beta_2"),
            gamma_g2=g2_from_json(obj["vk_gamma_2"], "vk_gamma_2"),
            delta_g2=g2_from_json(obj["vk_delta_2"], "vk_delta_2"),
            ic=tuple(g1_from_json(p, f"IC[{i}]") for i, p in enumerate(ic)),
        )
    except KeyError as exc:
        raise FormatError(f"verification key: missing field {exc}") from exc
    if len(vk.ic) != n_pub + 1:
        raise FormatError(f"verification key: nPublic = {n_pub} but IC has {len(vk.ic)} points (need nPublic + 1)")
    return vk


def proof_to_json(proof: Proof) -> dict[str, Any]:
    return {
        "pi_a": g1_json(proof.a),
        "pi_b": g2_json(proof.b),
        "pi_c": g1_json(proof.c),
        "protocol": "groth16",
        "curve": "bn128",
    }


def proof_from_json(obj: Any) -> Proof:
    if not isinstance(obj, dict):
        raise FormatError("proof: expected a JSON object")
    if obj.get("protocol", "groth16") != "groth16":
        raise FormatError(f"proof: protocol is {obj.get('protocol')!r}, expected 'groth16'")
    try:
        return Proof(
            a=g1_from_json(obj["pi_a"], "pi_a"),
            b=g2_from_json(obj["pi_b"], "pi_b"),
            c=g1_from_json(obj["pi_c"], "pi_c"),
        )
    except KeyError as exc:
        raise FormatError(f"proof: missing field {exc}") from exc


def public_to_json(signals: Sequence[int]) -> list[str]:
    return [str(int(s)) for s in signals]


def public_from_json(obj: Any) -> list[int]:
    """Public signals as ints; values ≥ r are rejected here (a verifier must never reduce them)."""
    if not isinstance(obj, list):
        raise FormatError("public signals: expected a JSON list of decimal strings")
    out = []
    for i, s in enumerate(obj):
        try:
            v = int(str(s), 10)
        except ValueError as exc:
            raise FormatError(f"public signal {i}: {s!r} is not a decimal integer") from exc
        if not 0 <= v < R:
            raise FormatError(f"public signal {i}: {v} is not in [0, r)")
        out.append(v)
    return out


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise FormatError(f"{path}: cannot read {what} ({exc})") from exc


def _write_json(path: Path, obj: Any) -> None:
    Path(path).write_text(json.dumps(obj, indent=1) + "\n")


def write_vk_json(path: Path, vk: VerifyingKey) -> None:
    _write_json(path, vk_to_json(vk))


def read_vk_json(path: Path) -> VerifyingKey:
    return vk_from_json(_read_json(path, "verification key"))


def write_proof_json(path: Path, proof: Proof) -> None:
    _write_json(path, proof_to_json(proof))


def read_proof_json(path: Path) -> Proof:
    return proof_from_json(_read_json(path, "proof"))


def write_public_json(path: Path, signals: Sequence[int]) -> None:
    _write_json(path, public_to_json(signals))


def read_public_json(path: Path) -> list[int]:
    return public_from_json(_read_json(path, "public signals"))
