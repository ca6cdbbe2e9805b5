// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice What SolvencyFeed asks of a proof verifier: does `bundle` prove the statements whose
/// public inputs are `publicInputs` (nProofs consecutive groups of equal length, one per chain)?
/// Bundle layout (version 1): abi.encode(uint256 version, uint256[8][] proofs), each proof as
/// [A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y] (EIP-197 G2 order: c1 before c0).
/// The version lets a recursive (constant-size) bundle be introduced without breaking feeds.
interface IProofBundleVerifier {
    function verifyBundle(uint256[] calldata publicInputs, uint256 nProofs, bytes calldata bundle)
        external
        view
        returns (bool);
}
