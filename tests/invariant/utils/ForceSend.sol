// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @dev Pushes ETH into any address without calling it: selfdestruct in the constructor still
/// transfers the balance under Cancun (EIP-6780 only stops the code deletion of older contracts).
contract ForceSend {
    constructor(address payable to) payable {
        selfdestruct(to);
    }
}
