// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {
    IConsentRegistry,
    Request,
    ConsentStatus,
    ConsentDecision,
    DATA_CLASS_COUNT
} from "./interfaces/IConsentRegistry.sol";
import {Settings} from "./Settings.sol";

/// @title Consent between patients and requesters (module of PulseLedger)
/// @dev `isAllowed(patient, requester, class)` is true exactly when an approved, unrevoked request of
/// that pair covers the class and now lies in its period. One word per pair holds, per class, the id of
/// the last request approved for it (80 bits each). Approve refuses while that request is still
/// approved and unexpired, so at most one request per (pair, class) can be in force and the word names
/// it. Revoke flips one status and purchase/logAccess read only the request: all O(1) whatever the
/// number of grants. Why: docs/decisions/2026-12-02-consent-semantics.md.
abstract contract ConsentRegistry is IConsentRegistry, EIP712, Settings {

    bytes32 private constant _CONSENT_DECISION_TYPEHASH =
        keccak256("ConsentDecision(uint256 requestId,uint8 decision,uint256 nonce,uint256 deadline)");
    /// @dev Every defined data-class bit set (0b111).
    uint8 private constant _ALL_DATA_CLASSES = uint8((1 << DATA_CLASS_COUNT) - 1);
    uint256 private constant _GRANT_MASK = type(uint80).max;
    /// @dev Bit 255 of a pair's grants word, set by the pair's first request: the requester pays the
    /// zero-to-non-zero store, so the patient's approvals rewrite a non-zero word (as the governing
    /// request did before).
    uint256 private constant _PAIR_SEEN = 1 << 255;

    uint256 private _requestCount;
    mapping(uint256 requestId => Request) private _requests;
    /// @dev Bits 80c..80c+79: the last request approved for data class c. Request ids never reach 2^80.
    mapping(address patient => mapping(address requester => uint256 grants)) private _grants;
    /// @dev In a slot of its own (not beside credits), so withdrawing zeroes a whole slot.
    /// @dev `nonce << 1 | 1` once the patient was first asked (bit 0 marks the slot as written, so the
    /// requester of the first request pays its zero-to-non-zero store, not the patient's first signature).
    mapping(address patient => uint256 nonceWord) private _nonces;

    /// @dev The HL7 v3 PurposeOfUse codes a request may name (docs/privacy.md): a code, never free text.
    function _isPurposeCode(bytes32 code) private pure returns (bool) {
        return code == bytes32("TREAT") || code == bytes32("ETREAT") || code == bytes32("CAREMGT")
            || code == bytes32("HOPERAT") || code == bytes32("HRESCH") || code == bytes32("CLINTRL")
            || code == bytes32("PUBHLTH") || code == bytes32("PATRQT");
    }

    /// @inheritdoc IConsentRegistry
    function requestConsent(
        address patient,
        bytes32 purposeOfUse,
        uint8 dataClasses,
        uint40 validFrom,
        uint40 validUntil,
        bytes32 consentDocHash
    ) external whenNotPaused returns (uint256 requestId) {
        if (patient == address(0) || patient == msg.sender) revert ConsentRegistryInvalidPatient(patient);
        if (!_isPurposeCode(purposeOfUse)) revert ConsentRegistryUnknownPurpose(purposeOfUse);
        if (dataClasses == 0 || dataClasses & ~_ALL_DATA_CLASSES != 0) {
            revert ConsentRegistryInvalidDataClasses(dataClasses);
        }
        if (validUntil <= validFrom || validUntil <= block.timestamp) {
            revert ConsentRegistryInvalidPeriod(validFrom, validUntil);
        }

        // One id per transaction: the counter cannot come near 2^256.
        unchecked {
            requestId = ++_requestCount;
        }
        _requests[requestId] = Request({
            patient: patient,
            status: ConsentStatus.Pending,
            dataClasses: dataClasses,
            validFrom: validFrom,
            validUntil: validUntil,
            requester: msg.sender
        });
        mapping(address requester => uint256) storage grantsOfPatient = _grants[patient];
        if (grantsOfPatient[msg.sender] == 0) grantsOfPatient[msg.sender] = _PAIR_SEEN;
        if (_nonces[patient] == 0) _nonces[patient] = 1;
        emit ConsentRequested(
            requestId, patient, msg.sender, purposeOfUse, dataClasses, validFrom, validUntil, consentDocHash
        );
    }

    /// @inheritdoc IConsentRegistry
    function approve(uint256 requestId) external {
        Request storage request = _requests[requestId];
        _checkPatient(requestId, request.patient);
        _approve(requestId, request);
    }

    /// @inheritdoc IConsentRegistry
    function deny(uint256 requestId) external {
        Request storage request = _requests[requestId];
        _checkPatient(requestId, request.patient);
        _deny(requestId, request);
    }

    /// @inheritdoc IConsentRegistry
    function revoke(uint256 requestId) external {
        Request storage request = _requests[requestId];
        _checkPatient(requestId, request.patient);
        _revoke(requestId, request);
    }

    /// @inheritdoc IConsentRegistry
    function decideBySig(uint256 requestId, uint8 decision, uint256 deadline, bytes calldata signature) external {
        if (block.timestamp > deadline) revert ConsentRegistrySignatureExpired(deadline, block.timestamp);
        if (decision == uint8(ConsentDecision.None) || decision > uint8(ConsentDecision.Revoke)) {
            revert ConsentRegistryInvalidDecision(decision);
        }
        Request storage request = _requests[requestId];
        address patient = request.patient;
        if (patient == address(0)) revert ConsentRegistryUnknownRequest(requestId);

        uint256 nonce = _nonces[patient] >> 1;
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(_CONSENT_DECISION_TYPEHASH, requestId, decision, nonce, deadline))
        );
        (address signer, ECDSA.RecoverError error, bytes32 errorArg) = ECDSA.tryRecoverCalldata(digest, signature);
        if (error == ECDSA.RecoverError.InvalidSignatureLength) {
            revert ConsentRegistryInvalidSignatureLength(uint256(errorArg));
        }
        if (error == ECDSA.RecoverError.InvalidSignatureS) revert ConsentRegistryInvalidSignatureS(errorArg);
        // A bad `v` or an unrecoverable signature leaves `signer` zero: reported as the wrong signer.
        if (signer != patient) revert ConsentRegistryInvalidSigner(signer, patient);
        // One increment per accepted signature: cannot come near 2^256.
        unchecked {
            _nonces[patient] = (nonce + 1) << 1 | 1;
        }

        if (decision == uint8(ConsentDecision.Approve)) _approve(requestId, request);
        else if (decision == uint8(ConsentDecision.Deny)) _deny(requestId, request);
        else _revoke(requestId, request);
    }

    /// @inheritdoc IConsentRegistry
    function cancelSignatures() external {
        uint256 next = (_nonces[msg.sender] >> 1) + 1;
        // One increment per call, paid by the caller: cannot come near 2^255.
        _nonces[msg.sender] = next << 1 | 1;
        emit ConsentSignaturesCancelled(msg.sender, next);
    }

    /// @inheritdoc IConsentRegistry
    function isAllowed(address patient, address requester, uint8 dataClass) external view returns (bool) {
        if (dataClass >= DATA_CLASS_COUNT) return false;
        return _inForce(_requests[_grantIn(_grants[patient][requester], dataClass)]);
    }

    /// @inheritdoc IConsentRegistry
    function isInForce(uint256 requestId, uint8 dataClass) external view returns (bool) {
        Request storage request = _requests[requestId];
        return dataClass < DATA_CLASS_COUNT && (request.dataClasses >> dataClass) & 1 == 1 && _inForce(request);
    }

    /// @inheritdoc IConsentRegistry
    function getRequest(uint256 requestId) external view returns (Request memory) {
        return _requests[requestId];
    }

    /// @inheritdoc IConsentRegistry
    function grantOf(address patient, address requester, uint8 dataClass) external view returns (uint256) {
        if (dataClass >= DATA_CLASS_COUNT) return 0;
        return _grantIn(_grants[patient][requester], dataClass);
    }

    /// @inheritdoc IConsentRegistry
    function nonces(address patient) external view returns (uint256) {
        return _nonces[patient] >> 1;
    }

    /// @inheritdoc IConsentRegistry
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @dev For the modules that buy and read under a request.
    function _requestAt(uint256 requestId) internal view returns (Request storage) {
        return _requests[requestId];
    }

    /// @dev Approved (not revoked) and `validFrom <= now < validUntil`.
    function _inForce(Request storage request) internal view returns (bool) {
        return request.status == ConsentStatus.Approved && _inPeriod(request);
    }

    /// @dev `validFrom <= now < validUntil`.
    function _inPeriod(Request storage request) internal view returns (bool) {
        return block.timestamp >= request.validFrom && block.timestamp < request.validUntil;
    }

    function _checkPatient(uint256 requestId, address patient) private view {
        if (patient == address(0)) revert ConsentRegistryUnknownRequest(requestId);
        if (patient != msg.sender) revert ConsentRegistryNotPatient(requestId, msg.sender);
    }

    function _approve(uint256 requestId, Request storage request) private {
        ConsentStatus status = request.status;
        if (status != ConsentStatus.Pending) revert ConsentRegistryWrongStatus(requestId, status);
        uint40 validUntil = request.validUntil;
        if (block.timestamp >= validUntil) revert ConsentRegistryRequestExpired(requestId, validUntil);
        address patient = request.patient;
        address requester = request.requester;
        uint256 grants = _grants[patient][requester];
        uint8 classes = request.dataClasses;
        for (uint8 dataClass; dataClass < DATA_CLASS_COUNT; ++dataClass) {
            if ((classes >> dataClass) & 1 == 0) continue;
            uint256 grantId = _grantIn(grants, dataClass);
            // Still approved and not yet ended (in its period or still to come): it keeps the class.
            if (grantId != 0) {
                Request storage granted = _requests[grantId];
                if (granted.status == ConsentStatus.Approved && block.timestamp < granted.validUntil) {
                    revert ConsentRegistryAlreadyGranted(requestId, dataClass, grantId);
                }
            }
            grants = _withGrant(grants, dataClass, requestId);
        }
        _grants[patient][requester] = grants;
        request.status = ConsentStatus.Approved;
        emit ConsentApproved(requestId, patient, requester);
    }

    function _deny(uint256 requestId, Request storage request) private {
        ConsentStatus status = request.status;
        if (status != ConsentStatus.Pending) revert ConsentRegistryWrongStatus(requestId, status);
        request.status = ConsentStatus.Denied;
        emit ConsentDenied(requestId, request.patient, request.requester);
    }

    function _revoke(uint256 requestId, Request storage request) private {
        ConsentStatus status = request.status;
        if (status != ConsentStatus.Approved) revert ConsentRegistryWrongStatus(requestId, status);
        request.status = ConsentStatus.Revoked;
        emit ConsentRevoked(requestId, request.patient, request.requester);
    }

    function _grantIn(uint256 grants, uint8 dataClass) private pure returns (uint256) {
        return (grants >> (80 * uint256(dataClass))) & _GRANT_MASK;
    }

    function _withGrant(uint256 grants, uint8 dataClass, uint256 requestId) private pure returns (uint256) {
        uint256 offset = 80 * uint256(dataClass);
        return (grants & ~(_GRANT_MASK << offset)) | requestId << offset;
    }
}
