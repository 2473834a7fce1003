"""A libp2p host the way this pipeline needs it: Noise only (no plaintext, no secio, no TLS
fallback), Yamux, TCP on 127.0.0.1 unless told otherwise, no mDNS, no UPnP, and no dialling of
its own: membership.py decides whom to dial."""

from __future__ import annotations

import multiaddr
from libp2p import new_host
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_key_pair
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport


def noise_only(key_pair: KeyPair) -> dict:
    return {NOISE_PROTOCOL_ID: NoiseTransport(key_pair, noise_privkey=new_x25519_key_pair().private_key)}


def make_host(key_pair: KeyPair, network_psk: str | None = None):
    """network_psk: the private network's key (64 hex digits), or None for none."""
    host = new_host(key_pair=key_pair, sec_opt=noise_only(key_pair), muxer_preference="YAMUX",
                    enable_mDNS=False, enable_upnp=False, psk=network_psk,
                    # advertise only what we listen on, never ports others observed us dial from
                    disable_identify_address_discovery=True)
    without_auto_connector(host)
    return host


def without_auto_connector(host) -> None:
    """py-libp2p's auto-connector keeps a public node's 100 connections: every 10 s it dials
    every peer its peerstore holds an address of (~200 dials a round in a 3-peer cluster):
    peers never admitted, revoked ones, a restarted peer's old addresses, a peer we just closed
    as stalled. Here membership owns dialling: admitted peers only, one side of each pair, each
    try bounded (membership.py). Its one entry point is replaced; the rest stays as shipped."""
    async def dial_nothing() -> None:
        return None

    host.get_network().auto_connector.maybe_connect = dial_nothing


def listen_addr(host: str, port: int) -> multiaddr.Multiaddr:
    return multiaddr.Multiaddr(f"/ip4/{host}/tcp/{port}")
