// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IProofBundleVerifier} from "./IProofBundleVerifier.sol";

/// @notice Groth16 verification on BN254 with the EIP-196/197 precompiles (0x06 ecAdd, 0x07 ecMul,
/// 0x08 pairing), single and batched. Where the verifying key lives is left to the concrete
/// contract (`_loadVk`): Groth16Verifier keeps it in a data contract, an exported verifier in constants.
///
/// VK word layout (16 + 2k words for k public inputs), G2 in EIP-197 order (c1 before c0):
///   [alpha.x, alpha.y, beta(4), gamma(4), delta(4), IC_0.x, IC_0.y, ..., IC_k.x, IC_k.y]
/// Proof layout (8 words): [A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y].
///
/// Batched check for proofs i = 0..n-1 with coefficients rho_i (rho_0 = 1, rho_i for i >= 1 by
/// Fiat-Shamir: seed = keccak256(vkHash || all proofs || all inputs), rho_i = keccak256(seed || i) mod r):
///   prod_i e(rho_i*A_i, B_i) * e(-(sum rho_i)*alpha, beta) * e(-sum_j s_j*IC_j, gamma)
///     * e(-sum rho_i*C_i, delta) == 1,   s_0 = sum rho_i, s_j = sum_i rho_i*x_{i,j}
/// which is n + 3 pairs. With n = 1 it is exactly the single-proof Groth16 equation.
/// A bad proof survives only if its error cancels against the others, which happens with
/// probability about 1/r because the coefficients are fixed by everything being verified.
abstract contract Groth16VerifierBase is IProofBundleVerifier {
    /// BN254 scalar field (group order) r and base field q (EIP-196).
    uint256 internal constant R = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;
    uint256 internal constant Q = 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47;

    /// Bundle versions understood by verifyBundle (see IProofBundleVerifier).
    uint256 public constant BUNDLE_VERSION = 1;

    /// The call to an unknown or malformed shape is the caller's bug: revert with what is wrong.
    error WrongInputCount(uint256 expected, uint256 got);
    error EmptyBatch();
    error UnsupportedBundleVersion(uint256 version);
    error MalformedBundle(uint256 length);
    /// Reverted (never answered false) when too little gas is left to run a precompile with its
    /// EIP-1108 price, so that a low gas limit can never be mistaken for an invalid proof.
    error InsufficientGas();
    error InvalidVerifyingKey(uint256 word);

    /// Number of public inputs per proof.
    function nPublic() public view virtual returns (uint256);

    /// keccak256 over the VK words (layout above); binds the batch coefficients to this key.
    function vkHash() public view virtual returns (bytes32);

    /// Write the 16 + 2*nPublic() VK words at memory address `dst`.
    function _loadVk(uint256 dst) internal view virtual;

    /// @notice Verify one proof. False for an invalid proof, an input >= r, or a point that is not
    /// on its curve; reverts WrongInputCount if input.length != nPublic().
    function verifyProof(uint256[8] calldata proof, uint256[] calldata input) external view returns (bool) {
        uint256 k = nPublic();
        if (input.length != k) revert WrongInputCount(k, input.length);
        uint256 buf = _alloc(9 + k);
        bytes32 h = vkHash();
        assembly ("memory-safe") {
            mstore(buf, h)
            calldatacopy(add(buf, 0x20), proof, 0x100)
            calldatacopy(add(buf, 0x120), input.offset, mul(k, 0x20))
        }
        return _verify(buf, 1, k);
    }

    /// @notice Verify n proofs under one multi-pairing; `inputs` holds nPublic() inputs per proof,
    /// proof by proof. True only if every proof is valid.
    function verifyBatch(uint256[8][] calldata proofs, uint256[] calldata inputs) external view returns (bool) {
        uint256 n = proofs.length;
        if (n == 0) revert EmptyBatch();
        uint256 k = nPublic();
        // n * 256 <= calldatasize (the ABI decoder checked), so n * k cannot overflow.
        if (inputs.length != n * k) revert WrongInputCount(n * k, inputs.length);
        uint256 buf = _alloc(1 + 8 * n + n * k);
        bytes32 h = vkHash();
        assembly ("memory-safe") {
            mstore(buf, h)
            calldatacopy(add(buf, 0x20), proofs.offset, mul(n, 0x100))
            calldatacopy(add(buf, add(0x20, mul(n, 0x100))), inputs.offset, mul(mul(n, k), 0x20))
        }
        return _verify(buf, n, k);
    }

    /// @inheritdoc IProofBundleVerifier
    /// @dev Version 1 must be the canonical abi.encode(uint256(1), uint256[8][] proofs): head
    /// offset 0x40 and no trailing bytes. A bundle holding another number of proofs than nProofs
    /// does not prove the statement: false.
    function verifyBundle(uint256[] calldata publicInputs, uint256 nProofs, bytes calldata bundle)
        external
        view
        returns (bool)
    {
        if (bundle.length < 0x20) revert MalformedBundle(bundle.length);
        uint256 version = uint256(bytes32(bundle[0:0x20]));
        if (version != BUNDLE_VERSION) revert UnsupportedBundleVersion(version);
        if (nProofs == 0) revert EmptyBatch();
        uint256 k = nPublic();
        // k <= 375 (VK code size limit), so below 2^128 proofs the product cannot overflow
        if (nProofs > type(uint128).max) revert WrongInputCount(type(uint256).max, publicInputs.length);
        if (publicInputs.length != nProofs * k) revert WrongInputCount(nProofs * k, publicInputs.length);
        if (bundle.length < 0x60 || (bundle.length - 0x60) % 0x100 != 0) revert MalformedBundle(bundle.length);
        uint256 n = (bundle.length - 0x60) / 0x100;
        if (uint256(bytes32(bundle[0x20:0x40])) != 0x40 || uint256(bytes32(bundle[0x40:0x60])) != n) {
            revert MalformedBundle(bundle.length);
        }
        if (n == 0) revert EmptyBatch();
        if (n != nProofs) return false;
        uint256 buf = _alloc(1 + 8 * n + n * k);
        bytes32 h = vkHash();
        assembly ("memory-safe") {
            mstore(buf, h)
            calldatacopy(add(buf, 0x20), add(bundle.offset, 0x60), mul(n, 0x100))
            calldatacopy(add(buf, add(0x20, mul(n, 0x100))), publicInputs.offset, mul(mul(n, k), 0x20))
        }
        return _verify(buf, n, k);
    }

    /// Reserve `words` words of memory and return their address.
    function _alloc(uint256 words) internal pure returns (uint256 ptr) {
        assembly ("memory-safe") {
            ptr := mload(0x40)
            mstore(0x40, add(ptr, mul(words, 0x20)))
        }
    }

    /// Check the VK words at memory `w` (16 + 2k words): every G1 point on the curve with
    /// coordinates < q (ecAdd with infinity checks that), alpha not infinity, beta/gamma/delta
    /// valid non-zero G2 points of order r (the pairing precompile checks that). Reverts
    /// InvalidVerifyingKey(index of the first word of the bad point).
    function _checkVk(uint256 w, uint256 k) internal view {
        uint256 words = 16 + 2 * k;
        uint256 bad = type(uint256).max;
        assembly ("memory-safe") {
            let scratch := mload(0x40)
            // alpha must not be infinity
            if iszero(or(mload(w), mload(add(w, 0x20)))) { bad := 0 }
            // G1 points: alpha (word 0) and IC (words 14..)
            for { let i := 0 } lt(i, words) { i := add(i, 2) } {
                if eq(i, 2) { i := 14 }
                mstore(scratch, mload(add(w, mul(i, 0x20))))
                mstore(add(scratch, 0x20), mload(add(w, mul(add(i, 1), 0x20))))
                mstore(add(scratch, 0x40), 0)
                mstore(add(scratch, 0x60), 0)
                if iszero(staticcall(gas(), 0x06, scratch, 0x80, scratch, 0x40)) {
                    if eq(bad, not(0)) { bad := i }
                }
            }
            // G2 points: beta (2), gamma (6), delta (10), each paired with G1 infinity so the
            // product is 1 exactly when all three decode as points of the r-torsion subgroup.
            for { let j := 0 } lt(j, 3) { j := add(j, 1) } {
                let src := add(w, mul(add(2, mul(j, 4)), 0x20))
                let dst := add(scratch, mul(j, 0xc0))
                mstore(dst, 0)
                mstore(add(dst, 0x20), 0)
                mcopy(add(dst, 0x40), src, 0x80)
                if iszero(or(or(mload(src), mload(add(src, 0x20))), or(mload(add(src, 0x40)), mload(add(src, 0x60))))) {
                    if eq(bad, not(0)) { bad := add(2, mul(j, 4)) }
                }
            }
            let ok := staticcall(gas(), 0x08, scratch, 0x240, scratch, 0x20)
            if iszero(and(ok, eq(mload(scratch), 1))) {
                if eq(bad, not(0)) { bad := 2 }
            }
        }
        if (bad != type(uint256).max) revert InvalidVerifyingKey(bad);
    }

    /// The batched equation (contract comment) over memory `buf`:
    /// [vkHash][n proofs, 8 words each][n*k inputs]. False on any invalid input or point.
    function _verify(uint256 buf, uint256 n, uint256 k) internal view returns (bool ok) {
        uint256 vk = _alloc(16 + 2 * k);
        _loadVk(vk);
        assembly ("memory-safe") {
            // A call forwards at most all but 1/64 of the gas left (EIP-150); demand the price
            // plus headroom so that a failed precompile call can only mean invalid input.
            // Otherwise revert InsufficientGas() (selector 0x1c26714c, checked by the tests).
            function needGas(g) {
                if lt(gas(), add(div(mul(g, 64), 63), 800)) {
                    mstore(0, shl(224, 0x1c26714c))
                    revert(0, 4)
                }
            }
            // out = s * (point at p); EIP-1108 price 6000. scratch: 3 words.
            function ecMul(p, s, out, scratch) -> success {
                mcopy(scratch, p, 0x40)
                mstore(add(scratch, 0x40), s)
                needGas(6000)
                success := staticcall(6000, 0x07, scratch, 0x60, out, 0x40)
            }
            // out = (point at p) + (point at q); EIP-1108 price 150. out may alias p or q.
            function ecAdd(p, q, out, scratch) -> success {
                mcopy(scratch, p, 0x40)
                mcopy(add(scratch, 0x40), q, 0x40)
                needGas(150)
                success := staticcall(150, 0x06, scratch, 0x80, out, 0x40)
            }
            // -P = (x, q - y); infinity (0, 0) stays. An out-of-range y becomes a value >= q,
            // which the pairing precompile rejects just as it would have rejected y.
            function negate(p) {
                let y := mload(add(p, 0x20))
                if y { mstore(add(p, 0x20), sub(0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47, y)) }
            }
            // Public inputs must be canonical: x and x + r would otherwise verify alike.
            function inputsCanonical(inputs, count) -> canon {
                for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                    if iszero(lt(mload(add(inputs, mul(i, 0x20))), 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001)) { leave }
                }
                canon := 1
            }
            // Proofs 1..n-1: pair i = (rho_i*A_i, B_i); C accumulator += rho_i*C_i; s_0 += rho_i;
            // s_j += rho_i * x_{i,j}. w: [s (k+1 words)] then pairs, scratch (4), tmp (2), cacc (2).
            function accumulate(b, n_, k_, s, pairs, scratch) -> good {
                let seed := keccak256(b, mul(add(add(1, mul(n_, 8)), mul(n_, k_)), 0x20))
                for { let i := 1 } lt(i, n_) { i := add(i, 1) } {
                    mstore(0, seed)
                    mstore(0x20, i)
                    let rho := mod(keccak256(0, 0x40), 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001)
                    let pr := add(b, add(0x20, mul(i, 0x100)))
                    let dst := add(pairs, mul(i, 0xc0))
                    if iszero(ecMul(pr, rho, dst, scratch)) { leave }
                    mcopy(add(dst, 0x40), add(pr, 0x40), 0x80)
                    if iszero(ecMul(add(pr, 0xc0), rho, add(scratch, 0x80), scratch)) { leave }
                    if iszero(ecAdd(add(scratch, 0xc0), add(scratch, 0x80), add(scratch, 0xc0), scratch)) { leave }
                    addScaled(s, rho, add(b, add(0x20, mul(n_, 0x100))), i, k_)
                }
                good := 1
            }
            // s_0 += rho; s_j += rho * x_{i,j} (mod r) for proof i's inputs.
            function addScaled(s, rho, inputs, i, k_) {
                let r_ := 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001
                mstore(s, addmod(mload(s), rho, r_))
                let xi := add(inputs, mul(mul(i, k_), 0x20))
                for { let j := 0 } lt(j, k_) { j := add(j, 1) } {
                    let sj := add(s, mul(add(j, 1), 0x20))
                    mstore(sj, addmod(mload(sj), mulmod(rho, mload(add(xi, mul(j, 0x20))), r_), r_))
                }
            }
            // The last three pairs and the pairing call.
            function finish(n_, k_, vkp, s, pairs, scratch) -> res {
                // pair n: (-(s_0 * alpha), beta); s_0 = 1 when n = 1
                let pa := add(pairs, mul(n_, 0xc0))
                switch gt(n_, 1)
                case 0 { mcopy(pa, vkp, 0x40) }
                default { if iszero(ecMul(vkp, mload(s), pa, scratch)) { leave } }
                negate(pa)
                mcopy(add(pa, 0x40), add(vkp, 0x40), 0x80)

                // pair n+1: (-(sum_j s_j * IC_j), gamma)
                let pg := add(pa, 0xc0)
                switch gt(n_, 1)
                case 0 { mcopy(pg, add(vkp, 0x1c0), 0x40) }
                default { if iszero(ecMul(add(vkp, 0x1c0), mload(s), pg, scratch)) { leave } }
                for { let j := 1 } lt(j, add(k_, 1)) { j := add(j, 1) } {
                    let sj := mload(add(s, mul(j, 0x20)))
                    // s_j * IC_j is infinity when s_j = 0 (IC_j was checked at deployment)
                    if sj {
                        if iszero(ecMul(add(vkp, add(0x1c0, mul(j, 0x40))), sj, add(scratch, 0x80), scratch)) { leave }
                        if iszero(ecAdd(pg, add(scratch, 0x80), pg, scratch)) { leave }
                    }
                }
                negate(pg)
                mcopy(add(pg, 0x40), add(vkp, 0xc0), 0x80)

                // pair n+2: (-(sum rho_i * C_i), delta)
                let pd := add(pg, 0xc0)
                mcopy(pd, add(scratch, 0xc0), 0x40)
                negate(pd)
                mcopy(add(pd, 0x40), add(vkp, 0x140), 0x80)

                // EIP-1108: 45000 + 34000 per pair
                let g := add(45000, mul(34000, add(n_, 3)))
                needGas(g)
                let success := staticcall(g, 0x08, pairs, mul(add(n_, 3), 0xc0), scratch, 0x20)
                res := and(success, eq(mload(scratch), 1))
            }

            if inputsCanonical(add(buf, add(0x20, mul(n, 0x100))), mul(n, k)) {
                let s := mload(0x40) // k+1 scalars s_0..s_k
                let pairs := add(s, mul(add(k, 1), 0x20)) // n+3 pairs of 6 words
                let scratch := add(pairs, mul(add(n, 3), 0xc0)) // 4 words, tmp (2), C accumulator (2)
                mstore(0x40, add(scratch, 0x100))
                // proof 0 with rho_0 = 1: (A_0, B_0) as given, C accumulator = C_0, s = (1, x_0)
                mcopy(pairs, add(buf, 0x20), 0xc0)
                mcopy(add(scratch, 0xc0), add(buf, 0xe0), 0x40)
                mstore(s, 1)
                mcopy(add(s, 0x20), add(buf, add(0x20, mul(n, 0x100))), mul(k, 0x20))
                if accumulate(buf, n, k, s, pairs, scratch) {
                    ok := finish(n, k, vk, s, pairs, scratch)
                }
            }
        }
    }
}
