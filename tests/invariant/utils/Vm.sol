// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @dev The few forge cheatcodes these suites use, declared inline because forge-std cannot be
/// installed offline (the npm copy is an unofficial 1.1.2). Signatures as in forge-std's Vm.sol.
interface Vm {
    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function deal(address account, uint256 newBalance) external;
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external pure returns (address keyAddr);
    function label(address account, string calldata newLabel) external;
    function assume(bool condition) external pure;
    function expectRevert() external;
    function expectRevert(bytes4 revertData) external;
}

/// @dev The cheatcode address every forge version answers at.
Vm constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

/// @dev What forge's invariant runner reads from `targetSelectors()` (forge-std StdInvariant layout).
struct FuzzSelector {
    address addr;
    bytes4[] selectors;
}
