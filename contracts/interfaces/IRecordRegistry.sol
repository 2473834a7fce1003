// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

enum RecordStatus {
    None,
    Active,
    Retired
}

/// @notice A record offered for sale or export. `patient`..`status` share the first slot.
/// @dev Fixed-size digests only, so no caller can put free text on-chain: `locationDigest` is
/// keccak256 of where the ciphertext lives (a store path or `ipfs://` CID, kept off-chain), `dagRoot`
/// the root of the ciphertext's content DAG (for a raw single-block CID, its sha256). Nothing in a
/// record identifies a person or carries health values (docs/privacy.md lists every field).
struct Record {
    address patient;
    uint8 dataClass;
    uint32 version;
    RecordStatus status;
    bytes32 ciphertextHash;
    bytes32 locationDigest;
    bytes32 dagRoot;
}

/// @notice A custodian's anchor of the Merkle root of one batch of stored device readings. One slot.
struct BatchAnchor {
    address custodian;
    uint32 leafCount;
    uint40 anchoredAt;
}

/// @title Registry of sellable/exportable records and of custodians' batch anchors
interface IRecordRegistry {
    /// @notice Only the patient or a custodian the patient authorised writes the patient's records.
    error RecordRegistryUnauthorized(address patient, address caller);
    /// @notice `patient` is the zero address.
    error RecordRegistryInvalidPatient(address patient);
    /// @notice The data class index is not below `DATA_CLASS_COUNT`.
    error RecordRegistryInvalidDataClass(uint8 dataClass);
    /// @notice A record with this id exists (active or retired): ids are never reused. The id is
    /// `keccak256(abi.encode(patient, salt))`, so only the same patient's writers can collide with it.
    error RecordRegistryRecordExists(bytes32 recordId);
    /// @notice The record is unknown or retired.
    error RecordRegistryRecordNotActive(bytes32 recordId, RecordStatus status);
    /// @notice The custodian address is zero.
    error RecordRegistryInvalidCustodian(address custodian);
    /// @notice Only custodians registered by the owner anchor batches.
    error RecordRegistryNotRegisteredCustodian(address caller);
    /// @notice The batch root is zero or the leaf count is zero.
    error RecordRegistryInvalidBatch(bytes32 root, uint32 leafCount);
    /// @notice This root was anchored already.
    error RecordRegistryBatchAlreadyAnchored(bytes32 root);

    event RecordAdded(
        bytes32 indexed recordId,
        address indexed patient,
        uint8 dataClass,
        uint32 version,
        bytes32 ciphertextHash,
        bytes32 locationDigest,
        bytes32 dagRoot
    );
    event RecordUpdated(
        bytes32 indexed recordId,
        address indexed patient,
        uint8 dataClass,
        uint32 version,
        bytes32 ciphertextHash,
        bytes32 locationDigest,
        bytes32 dagRoot
    );
    event RecordRetired(bytes32 indexed recordId, address indexed patient);
    event CustodianAuthorized(address indexed patient, address indexed custodian, bool allowed);
    event CustodianRegistered(address indexed custodian, bool registered);
    event BatchAnchored(bytes32 indexed root, address indexed custodian, uint32 leafCount);

    /// @notice Register a record of `patient` (version 1) under the id `recordIdOf(patient, salt)`.
    /// Caller: the patient or their custodian. The id names the patient, so a copy of this
    /// transaction sent by anyone else either reverts (they do not write for `patient`) or, with
    /// themself as patient, registers a different id: it can neither take nor block this one.
    /// @param salt Writer-chosen (random) so the id reveals nothing and a patient has many records.
    /// @param ciphertextHash sha256 of the encrypted record.
    /// @param locationDigest keccak256 of the ciphertext's location (UTF-8), kept off-chain.
    /// @param dagRoot Root digest of the ciphertext's content DAG.
    /// @return recordId `keccak256(abi.encode(patient, salt))`.
    function addRecord(
        address patient,
        bytes32 salt,
        uint8 dataClass,
        bytes32 ciphertextHash,
        bytes32 locationDigest,
        bytes32 dagRoot
    ) external returns (bytes32 recordId);

    /// @notice Replace an active record's ciphertext; its version goes up by one.
    function updateRecord(bytes32 recordId, bytes32 ciphertextHash, bytes32 locationDigest, bytes32 dagRoot)
        external;

    /// @notice Retire an active record: it can no longer be accessed or updated.
    function retireRecord(bytes32 recordId) external;

    /// @notice The caller (a patient) allows or disallows `custodian` to write their records.
    function authorizeCustodian(address custodian, bool allowed) external;

    /// @notice The owner registers (or unregisters) a storage operator that may anchor batches.
    function setCustodian(address custodian, bool registered) external;

    /// @notice A registered custodian anchors the Merkle root of a batch of `leafCount` stored readings.
    function anchorBatch(bytes32 root, uint32 leafCount) external;

    /// @notice The anchor of `root` (all zero if never anchored).
    function batchAnchor(bytes32 root) external view returns (BatchAnchor memory);

    /// @notice The id a record of `patient` registered with `salt` has: `keccak256(abi.encode(patient, salt))`.
    function recordIdOf(address patient, bytes32 salt) external pure returns (bytes32);

    /// @notice The stored record (all zero if unknown).
    function getRecord(bytes32 recordId) external view returns (Record memory);

    /// @notice Whether `patient` authorised `custodian` to write their records.
    function isCustodianFor(address patient, address custodian) external view returns (bool);

    /// @notice Whether the owner registered `custodian` to anchor batches.
    function isRegisteredCustodian(address custodian) external view returns (bool);
}
