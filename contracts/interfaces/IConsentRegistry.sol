// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @dev Data classes are bit indices in a `uint8` mask (`1 << dataClass`).
uint8 constant DATA_CLASS_HEART_RATE_WINDOWS = 0;
uint8 constant DATA_CLASS_PREDICTIONS_ALERTS = 1;
uint8 constant DATA_CLASS_EXPORTS = 2;
/// @dev Number of defined data classes; any class index `>= DATA_CLASS_COUNT` is invalid.
uint8 constant DATA_CLASS_COUNT = 3;

/// @notice Lifecycle of a consent request. Only Pending -> Approved/Denied and Approved -> Revoked exist.
enum ConsentStatus {
    None,
    Pending,
    Approved,
    Denied,
    Revoked
}

/// @notice What a patient signs for `decideBySig` (EIP-712 `ConsentDecision.decision`).
enum ConsentDecision {
    None,
    Approve,
    Deny,
    Revoke
}

/// @notice A consent request: two storage slots. The first is exactly 256 bits.
/// @dev Purpose of use and the FHIR Consent document hash are not stored: `ConsentRequested` records them.
struct Request {
    address patient;
    ConsentStatus status;
    uint8 dataClasses;
    uint40 validFrom;
    uint40 validUntil;
    address requester;
}

/// @title Consent between a patient and a data requester
/// @notice A requester opens a request; the patient approves, denies or revokes it, directly or by an
/// EIP-712 signature relayed by anyone. Revocation is immediate and O(1).
interface IConsentRegistry {
    /// @notice The patient is the zero address or the requester themself.
    error ConsentRegistryInvalidPatient(address patient);
    /// @notice The mask is empty or sets a bit at or above `DATA_CLASS_COUNT`.
    error ConsentRegistryInvalidDataClasses(uint8 dataClasses);
    /// @notice `validUntil` is not after `validFrom`, or is already in the past.
    error ConsentRegistryInvalidPeriod(uint40 validFrom, uint40 validUntil);
    /// @notice No request has this id.
    error ConsentRegistryUnknownRequest(uint256 requestId);
    /// @notice Only the request's patient may decide on it.
    error ConsentRegistryNotPatient(uint256 requestId, address caller);
    /// @notice The request is not in a status the decision applies to (approve/deny need Pending, revoke needs Approved).
    error ConsentRegistryWrongStatus(uint256 requestId, ConsentStatus status);
    /// @notice `decision` is not Approve (1), Deny (2) or Revoke (3).
    error ConsentRegistryInvalidDecision(uint8 decision);
    /// @notice The signature's deadline has passed.
    error ConsentRegistrySignatureExpired(uint256 deadline, uint256 timestamp);
    /// @notice The signature is not 65 bytes long.
    error ConsentRegistryInvalidSignatureLength(uint256 length);
    /// @notice The signature's `s` is in the upper half of the curve order (a malleated signature).
    error ConsentRegistryInvalidSignatureS(bytes32 s);
    /// @notice The signature recovers to someone other than the patient: wrong key, or a digest for another
    /// nonce (replay), chain id (cross-chain) or verifying contract (cross-contract).
    error ConsentRegistryInvalidSigner(address signer, address patient);

    /// @notice A requester asked a patient for consent. The log is the record of purpose and document hash.
    event ConsentRequested(
        uint256 indexed requestId,
        address indexed patient,
        address indexed requester,
        bytes32 purposeOfUse,
        uint8 dataClasses,
        uint40 validFrom,
        uint40 validUntil,
        bytes32 consentDocHash
    );
    event ConsentApproved(uint256 indexed requestId, address indexed patient, address indexed requester);
    event ConsentDenied(uint256 indexed requestId, address indexed patient, address indexed requester);
    event ConsentRevoked(uint256 indexed requestId, address indexed patient, address indexed requester);

    /// @notice Open a consent request to `patient`. Reverts while paused.
    /// @param purposeOfUse HL7 v3 PurposeOfUse code, left-aligned ASCII in a bytes32 (e.g. "TREAT").
    /// @param dataClasses Mask of `1 << dataClass` bits.
    /// @param validFrom First second of validity (inclusive).
    /// @param validUntil End of validity (exclusive); must be after `validFrom` and in the future.
    /// @param consentDocHash Hash of the off-chain FHIR Consent document.
    /// @return requestId The new request's id (starting at 1).
    function requestConsent(
        address patient,
        bytes32 purposeOfUse,
        uint8 dataClasses,
        uint40 validFrom,
        uint40 validUntil,
        bytes32 consentDocHash
    ) external returns (uint256 requestId);

    /// @notice The patient approves a Pending request; it becomes the one governing the pair.
    function approve(uint256 requestId) external;

    /// @notice The patient denies a Pending request.
    function deny(uint256 requestId) external;

    /// @notice The patient revokes an Approved request, immediately.
    function revoke(uint256 requestId) external;

    /// @notice Apply the patient's EIP-712-signed decision; anyone may relay it.
    /// @dev Domain `{name: "PulseLedger", version: "1", chainId, verifyingContract}`; type
    /// `ConsentDecision(uint256 requestId,uint8 decision,uint256 nonce,uint256 deadline)`, nonce = `nonces(patient)`.
    /// @param decision 1 Approve, 2 Deny, 3 Revoke.
    /// @param deadline Last timestamp (inclusive) at which the signature is accepted.
    /// @param signature 65 bytes `r || s || v`, low-s.
    function decideBySig(uint256 requestId, uint8 decision, uint256 deadline, bytes calldata signature) external;

    /// @notice Whether `requester` may now read `patient`'s data of `dataClass`.
    /// @dev Answers from the request governing the pair: the most recently approved one (or, before any
    /// approval, the most recently opened one). Approved, `validFrom <= now < validUntil`, class in mask.
    function isAllowed(address patient, address requester, uint8 dataClass) external view returns (bool);

    /// @notice The stored request (all zero if unknown).
    function getRequest(uint256 requestId) external view returns (Request memory);

    /// @notice The id of the request that governs `isAllowed(patient, requester, ·)`; 0 if none.
    function governingRequest(address patient, address requester) external view returns (uint256);

    /// @notice The patient's next EIP-712 signature nonce.
    function nonces(address patient) external view returns (uint256);

    /// @notice The EIP-712 domain separator for this chain and contract.
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}
