// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Pushes ETH into a contract without calling it
/// @dev Tests only. SELFDESTRUCT in the creating transaction still sends the balance (EIP-6780), and a
/// recipient cannot refuse it: the ledger's accounting must not assume its balance equals what it owes.
contract ForceSender {
    constructor(address payable target) payable {
        selfdestruct(target);
    }
}
