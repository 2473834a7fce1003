// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Base for test contracts that act on PulseLedger as a patient or a buyer
/// @dev Tests only. The deployer drives it with `execute`, passing calldata built by the test.
abstract contract ContractActor {
    error ContractActorNotController(address caller);

    address private immutable _controller;

    constructor() {
        _controller = msg.sender;
    }

    /// @notice Call `target` with `data` and `msg.value`; bubbles up the target's revert unchanged.
    function execute(address target, bytes calldata data) external payable returns (bytes memory result) {
        if (msg.sender != _controller) revert ContractActorNotController(msg.sender);
        bool ok;
        (ok, result) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }
}
