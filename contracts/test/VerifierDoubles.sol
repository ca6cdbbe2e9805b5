// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IProofBundleVerifier} from "../src/IProofBundleVerifier.sol";

/// @notice TEST ONLY verifier doubles for SolvencyFeed tests. Never deploy outside tests.

/// Accepts any bundle whose public inputs are 12 per proof (the feed's layout).
contract AcceptingVerifier is IProofBundleVerifier {
    function verifyBundle(uint256[] calldata publicInputs, uint256 nProofs, bytes calldata)
        external
        pure
        returns (bool)
    {
        return nProofs > 0 && publicInputs.length == 12 * nProofs;
    }
}

/// Rejects everything.
contract RejectingVerifier is IProofBundleVerifier {
    function verifyBundle(uint256[] calldata, uint256, bytes calldata) external pure returns (bool) {
        return false;
    }
}

/// Reverts on every call.
contract RevertingVerifier is IProofBundleVerifier {
    error AlwaysReverts();

    function verifyBundle(uint256[] calldata, uint256, bytes calldata) external pure returns (bool) {
        revert AlwaysReverts();
    }
}

/// Accepts only the exact public inputs, proof count and bundle it was built with: lets a test
/// check that the feed derives and passes the inputs it should.
contract PinnedInputsVerifier is IProofBundleVerifier {
    bytes32 public immutable expected;

    constructor(uint256[] memory publicInputs, uint256 nProofs, bytes memory bundle) {
        expected = keccak256(abi.encode(publicInputs, nProofs, bundle));
    }

    function verifyBundle(uint256[] calldata publicInputs, uint256 nProofs, bytes calldata bundle)
        external
        view
        returns (bool)
    {
        return keccak256(abi.encode(publicInputs, nProofs, bundle)) == expected;
    }
}
