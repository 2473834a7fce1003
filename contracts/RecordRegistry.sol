// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {DATA_CLASS_COUNT} from "./interfaces/IConsentRegistry.sol";
import {IRecordRegistry, Record, RecordStatus, BatchAnchor} from "./interfaces/IRecordRegistry.sol";

/// @title Records offered for sale or export, and custodians' batch anchors (module of PulseLedger)
/// @dev Only records that are sold or exported live here, not every 10-second window: those are
/// covered by the Merkle roots custodians anchor per batch. A record's id is derived from its patient
/// and a salt, so ownership holds by construction: nobody can register an id naming someone else.
abstract contract RecordRegistry is IRecordRegistry {
    mapping(bytes32 recordId => Record) private _records;
    mapping(address patient => mapping(address custodian => bool allowed)) private _custodianFor;
    mapping(address custodian => bool registered) private _registeredCustodians;
    mapping(bytes32 root => BatchAnchor) private _batchAnchors;

    /// @inheritdoc IRecordRegistry
    function addRecord(
        address patient,
        bytes32 salt,
        uint8 dataClass,
        bytes32 ciphertextHash,
        bytes32 locationDigest,
        bytes32 dagRoot
    ) external returns (bytes32 recordId) {
        if (patient == address(0)) revert RecordRegistryInvalidPatient(patient);
        if (dataClass >= DATA_CLASS_COUNT) revert RecordRegistryInvalidDataClass(dataClass);
        _checkWriter(patient);
        recordId = recordIdOf(patient, salt);
        Record storage record = _records[recordId];
        if (record.status != RecordStatus.None) revert RecordRegistryRecordExists(recordId);

        record.patient = patient;
        record.dataClass = dataClass;
        record.version = 1;
        record.status = RecordStatus.Active;
        record.ciphertextHash = ciphertextHash;
        record.locationDigest = locationDigest;
        record.dagRoot = dagRoot;
        emit RecordAdded(recordId, patient, dataClass, 1, ciphertextHash, locationDigest, dagRoot);
    }

    /// @inheritdoc IRecordRegistry
    function updateRecord(bytes32 recordId, bytes32 ciphertextHash, bytes32 locationDigest, bytes32 dagRoot)
        external
    {
        Record storage record = _activeRecord(recordId);
        address patient = record.patient;
        _checkWriter(patient);

        uint32 version = record.version + 1;
        record.version = version;
        record.ciphertextHash = ciphertextHash;
        record.locationDigest = locationDigest;
        record.dagRoot = dagRoot;
        emit RecordUpdated(recordId, patient, record.dataClass, version, ciphertextHash, locationDigest, dagRoot);
    }

    /// @inheritdoc IRecordRegistry
    function retireRecord(bytes32 recordId) external {
        Record storage record = _activeRecord(recordId);
        address patient = record.patient;
        _checkWriter(patient);

        record.status = RecordStatus.Retired;
        emit RecordRetired(recordId, patient);
    }

    /// @inheritdoc IRecordRegistry
    function authorizeCustodian(address custodian, bool allowed) external {
        if (custodian == address(0)) revert RecordRegistryInvalidCustodian(custodian);
        _custodianFor[msg.sender][custodian] = allowed;
        emit CustodianAuthorized(msg.sender, custodian, allowed);
    }

    /// @inheritdoc IRecordRegistry
    function setCustodian(address custodian, bool registered) external {
        _checkCustodianRegistrar();
        if (custodian == address(0)) revert RecordRegistryInvalidCustodian(custodian);
        _registeredCustodians[custodian] = registered;
        emit CustodianRegistered(custodian, registered);
    }

    /// @inheritdoc IRecordRegistry
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

    /// @inheritdoc IRecordRegistry
    function batchAnchor(bytes32 root) external view returns (BatchAnchor memory) {
        return _batchAnchors[root];
    }

    /// @inheritdoc IRecordRegistry
    function recordIdOf(address patient, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(patient, salt));
    }

    /// @inheritdoc IRecordRegistry
    function getRecord(bytes32 recordId) external view returns (Record memory) {
        return _records[recordId];
    }

    /// @inheritdoc IRecordRegistry
    function isCustodianFor(address patient, address custodian) public view returns (bool) {
        return _custodianFor[patient][custodian];
    }

    /// @inheritdoc IRecordRegistry
    function isRegisteredCustodian(address custodian) external view returns (bool) {
        return _registeredCustodians[custodian];
    }

    /// @dev Who may register custodians is administration's call (PulseLedger: the owner).
    function _checkCustodianRegistrar() internal view virtual;

    /// @dev For the access log: the first slot (patient, class, version, status) is all it reads.
    function _recordAt(bytes32 recordId) internal view returns (Record storage) {
        return _records[recordId];
    }

    function _activeRecord(bytes32 recordId) private view returns (Record storage record) {
        record = _records[recordId];
        RecordStatus status = record.status;
        if (status != RecordStatus.Active) revert RecordRegistryRecordNotActive(recordId, status);
    }

    function _checkWriter(address patient) private view {
        if (msg.sender != patient && !_custodianFor[patient][msg.sender]) {
            revert RecordRegistryUnauthorized(patient, msg.sender);
        }
    }
}
