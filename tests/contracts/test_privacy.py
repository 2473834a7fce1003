"""No PHI on-chain: the interface only carries opaque ids, hashes, prices, addresses, times and flags.

The check is on the compiled ABI, so a new event field or argument (say a diagnosis string) fails here
until someone reviews it and adds it to the allow-list below."""

ALLOWED_EVENT_FIELDS = {
    # ids and hashes (bytes32/uint256), opaque by construction
    "requestId", "purchaseId", "recordId", "root", "ciphertextHash", "consentDocHash", "purposeOfUse",
    "locationDigest", "dagRoot",
    # addresses
    "patient", "requester", "buyer", "accessor", "account", "to", "custodian", "previous", "current",
    "previousOwner", "newOwner",
    # prices, amounts, classes, counts, times, versions, flags
    "price", "amount", "dataClass", "dataClasses", "validFrom", "validUntil", "deliverBy", "version",
    "leafCount", "allowed", "registered", "nextNonce",
}
OPAQUE_TYPES = {"address", "bytes32", "bool", "uint8", "uint32", "uint40", "uint256"}


def ledger_abi(project):
    return project.PulseLedger.contract_type.abi


def test_events__carry_only_opaque_fields(project):
    events = [item for item in ledger_abi(project) if item.type == "event"]
    assert len(events) >= 20

    for event in events:
        for field in event.inputs:
            assert field.name in ALLOWED_EVENT_FIELDS, f"{event.name}.{field.name} needs a privacy review"
            assert field.type in OPAQUE_TYPES, f"{event.name}.{field.name}: {field.type}"


def test_calldata__carries_only_opaque_arguments(project):
    functions = [item for item in ledger_abi(project) if item.type == "function" and item.stateMutability not in ("view", "pure")]
    assert len(functions) >= 20

    for function in functions:
        for argument in function.inputs:
            if argument.type == "bytes":
                assert (function.name, argument.name) == ("decideBySig", "signature")
            else:
                assert argument.type in OPAQUE_TYPES, f"{function.name}({argument.name}: {argument.type})"



def test_no_string_anywhere_in_the_interface(project):
    """Free text could carry a name or a diagnosis: no argument, return value or event field is a string
    (the EIP-712 domain's `eip712Domain()` view and OpenZeppelin's error argument excepted)."""
    for item in ledger_abi(project):
        if item.type == "error" or getattr(item, "name", "") == "eip712Domain":
            continue
        fields = list(getattr(item, "inputs", [])) + list(getattr(item, "outputs", []) or [])
        assert all("string" not in field.type for field in fields), f"{item.name} carries a string"
