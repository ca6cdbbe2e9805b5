// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Groth16VerifierBase} from "./Groth16VerifierBase.sol";

/// @notice Generic Groth16 verifier: compiled once, the verifying key is given to the constructor
/// (so deploying a new key needs no Solidity compiler). The VK words are written as the runtime
/// code of a data contract created here (runtime = 0x00 || words, the leading STOP makes it
/// uncallable) and read back with one EXTCODECOPY per verification: 2600 gas cold instead of
/// 2100 per word from storage. The key cannot change after deployment.
contract Groth16Verifier is Groth16VerifierBase {
    address private immutable _vkData;
    uint256 private immutable _nPublic;
    bytes32 private immutable _vkHash;

    /// The data contract could not be created (a VK over the 24576-byte code size limit).
    error VkStoreFailed(uint256 words);

    /// @param alpha G1 [x, y]; beta, gamma, delta G2 [x.c1, x.c0, y.c1, y.c0] (EIP-197 order);
    /// ic G1 points IC_0..IC_k (k = number of public inputs), each [x, y].
    constructor(
        uint256[2] memory alpha,
        uint256[4] memory beta,
        uint256[4] memory gamma,
        uint256[4] memory delta,
        uint256[2][] memory ic
    ) {
        if (ic.length == 0) revert InvalidVerifyingKey(14);
        uint256 k = ic.length - 1;
        uint256[] memory w = new uint256[](16 + 2 * k);
        w[0] = alpha[0];
        w[1] = alpha[1];
        for (uint256 i = 0; i < 4; i++) {
            w[2 + i] = beta[i];
            w[6 + i] = gamma[i];
            w[10 + i] = delta[i];
        }
        for (uint256 i = 0; i <= k; i++) {
            w[14 + 2 * i] = ic[i][0];
            w[15 + 2 * i] = ic[i][1];
        }
        uint256 wptr;
        assembly ("memory-safe") {
            wptr := add(w, 0x20)
        }
        _checkVk(wptr, k);

        bytes memory runtime = abi.encodePacked(bytes1(0x00), w);
        // Init code: PUSH4 len, DUP1, PUSH1 14, PUSH1 0, CODECOPY, PUSH1 0, RETURN (14 bytes),
        // followed by the runtime it returns.
        bytes memory init = abi.encodePacked(hex"63", uint32(runtime.length), hex"80600e6000396000f3", runtime);
        address data;
        assembly ("memory-safe") {
            data := create(0, add(init, 0x20), mload(init))
        }
        if (data == address(0)) revert VkStoreFailed(w.length);
        _vkData = data;
        _nPublic = k;
        _vkHash = keccak256(abi.encodePacked(w));
    }

    function nPublic() public view override returns (uint256) {
        return _nPublic;
    }

    function vkHash() public view override returns (bytes32) {
        return _vkHash;
    }

    /// Address of the data contract holding the VK words (for inspection).
    function vkData() external view returns (address) {
        return _vkData;
    }

    function _loadVk(uint256 dst) internal view override {
        address data = _vkData;
        uint256 len = (16 + 2 * _nPublic) * 0x20;
        assembly ("memory-safe") {
            extcodecopy(data, dst, 1, len)
        }
    }
}
