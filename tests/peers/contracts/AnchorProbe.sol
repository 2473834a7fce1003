// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// A test stand-in with exactly the batch-anchoring surface of the ledger's RecordRegistry
/// (contracts/RecordRegistry.sol): registered custodians, one anchor per root, the same event.
contract AnchorProbe {
    struct BatchAnchor {
        address custodian;
        uint32 leafCount;
        uint40 anchoredAt;
    }

    error RecordRegistryNotRegisteredCustodian(address account);
    error RecordRegistryInvalidBatch(bytes32 root, uint32 leafCount);
    error RecordRegistryBatchAlreadyAnchored(bytes32 root);

    event BatchAnchored(bytes32 indexed root, address indexed custodian, uint32 leafCount);

    mapping(address custodian => bool registered) private _registeredCustodians;
    mapping(bytes32 root => BatchAnchor) private _batchAnchors;

    function setCustodian(address custodian, bool registered) external {
        _registeredCustodians[custodian] = registered;
    }

    function anchorBatch(bytes32 root, uint32 leafCount) external {
        if (!_registeredCustodians[msg.sender]) revert RecordRegistryNotRegisteredCustodian(msg.sender);
        if (root == bytes32(0) || leafCount == 0) revert RecordRegistryInvalidBatch(root, leafCount);
        BatchAnchor storage anchor = _batchAnchors[root];
        if (anchor.custodian != address(0)) revert RecordRegistryBatchAlreadyAnchored(root);
        anchor.custodian = msg.sender;
        anchor.leafCount = leafCount;
        anchor.anchoredAt = uint40(block.timestamp);
        emit BatchAnchored(root, msg.sender, leafCount);
    }

    function batchAnchor(bytes32 root) external view returns (BatchAnchor memory) {
        return _batchAnchors[root];
    }
}
