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
/// EIP-712 signature relayed by anyone. In one sentence: `isAllowed(patient, requester, class)` is
/// true exactly when an approved, unrevoked request of that pair covers the class and now lies in its
/// period. Revoke ends one request, at once and in O(1). A pair holds at most one unexpired grant per
/// data class: approving a request whose period has ended reverts, and so does approving one for a
/// class the requester already holds an unexpired, unrevoked grant of (revoke it, or wait for its end).
interface IConsentRegistry {
    /// @notice The patient is the zero address or the requester themself.
    error ConsentRegistryInvalidPatient(address patient);
    /// @notice The mask is empty or sets a bit at or above `DATA_CLASS_COUNT`.
    error ConsentRegistryInvalidDataClasses(uint8 dataClasses);
    /// @notice Not one of the HL7 v3 PurposeOfUse codes a request may name (`requestConsent`): only a code,
    /// never free text, goes on-chain beside a patient's address.
    error ConsentRegistryUnknownPurpose(bytes32 purposeOfUse);
    /// @notice `validUntil` is not after `validFrom`, or is already in the past.
    error ConsentRegistryInvalidPeriod(uint40 validFrom, uint40 validUntil);
    /// @notice No request has this id.
    error ConsentRegistryUnknownRequest(uint256 requestId);
    /// @notice Only the request's patient may decide on it.
    error ConsentRegistryNotPatient(uint256 requestId, address caller);
    /// @notice The request is not in a status the decision applies to (approve/deny need Pending, revoke needs Approved).
    error ConsentRegistryWrongStatus(uint256 requestId, ConsentStatus status);
    /// @notice The request's period has ended: it can no longer be approved.
    error ConsentRegistryRequestExpired(uint256 requestId, uint40 validUntil);
    /// @notice The requester already holds an unexpired, unrevoked grant of `dataClass` from this patient
    /// (request `grantId`): one grant per class at a time, so no approval can hide or outlive another.
    error ConsentRegistryAlreadyGranted(uint256 requestId, uint8 dataClass, uint256 grantId);
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
    /// @notice This request's grant ended; other requests of the pair are unaffected.
    event ConsentRevoked(uint256 indexed requestId, address indexed patient, address indexed requester);
    /// @notice The patient voided every decision they signed and nobody has relayed yet (`cancelSignatures`).
    event ConsentSignaturesCancelled(address indexed patient, uint256 nextNonce);

    /// @notice Open a consent request to `patient`. Reverts while paused.
    /// @param purposeOfUse HL7 v3 PurposeOfUse code, left-aligned ASCII in a bytes32, one of TREAT, ETREAT,
    /// CAREMGT, HOPERAT, HRESCH, CLINTRL, PUBHLTH, PATRQT (anything else reverts: a stranger must not be
    /// able to write free text about a patient on-chain).
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

    /// @notice The patient approves a Pending request whose period has not ended; it becomes the pair's
    /// grant of every class in its mask. Reverts if the pair already holds an unexpired, unrevoked grant
    /// of one of those classes.
    function approve(uint256 requestId) external;

    /// @notice The patient denies a Pending request.
    function deny(uint256 requestId) external;

    /// @notice The patient revokes an Approved request, immediately. Only this request: the pair's other
    /// requests (pending, or approved for other classes) are unaffected.
    function revoke(uint256 requestId) external;

    /// @notice Apply the patient's EIP-712-signed decision; anyone may relay it.
    /// @dev Domain `{name: "PulseLedger", version: "1", chainId, verifyingContract}`; type
    /// `ConsentDecision(uint256 requestId,uint8 decision,uint256 nonce,uint256 deadline)`, nonce = `nonces(patient)`.
    /// @param decision 1 Approve, 2 Deny, 3 Revoke.
    /// @param deadline Last timestamp (inclusive) at which the signature is accepted.
    /// @param signature 65 bytes `r || s || v`, low-s.
    function decideBySig(uint256 requestId, uint8 decision, uint256 deadline, bytes calldata signature) external;

    /// @notice The caller voids the decision they signed and nobody has relayed yet (it used `nonces(caller)`,
    /// which moves on). A signature is good until its deadline or until relayed, and whoever holds it
    /// chooses when: a patient who changed their mind must not have to race them. Works while paused.
    function cancelSignatures() external;

    /// @notice True exactly when an approved, unrevoked request of the pair covers `dataClass` and now
    /// lies in its period (`validFrom <= now < validUntil`).
    /// @dev Reads the pair's grant of the class: by the one-grant-per-class rule no other request can be
    /// approved, unrevoked and unexpired for it.
    function isAllowed(address patient, address requester, uint8 dataClass) external view returns (bool);

    /// @notice Whether this one request is approved, unrevoked, covers `dataClass` and is in its period:
    /// the consent a purchase made under it is bound by.
    function isInForce(uint256 requestId, uint8 dataClass) external view returns (bool);

    /// @notice The stored request (all zero if unknown).
    function getRequest(uint256 requestId) external view returns (Request memory);

    /// @notice The last request approved for `dataClass` between the pair (0 if none): the only one that
    /// can be in force for the class. It may since have been revoked or have expired.
    function grantOf(address patient, address requester, uint8 dataClass) external view returns (uint256);

    /// @notice The patient's next EIP-712 signature nonce.
    function nonces(address patient) external view returns (uint256);

    /// @notice The EIP-712 domain separator for this chain and contract.
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}
