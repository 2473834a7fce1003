"""Admission to the peer network: operator-signed credentials bound to a peer's Noise-verified
id, a signed revocation list, the gate every connection passes, and which roles may call which
operation. How to issue, rotate and revoke: docs/peers.md (Admission)."""
