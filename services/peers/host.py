"""A libp2p host the way this pipeline needs it: Noise only (no plaintext, no secio, no TLS
fallback), Yamux, TCP on 127.0.0.1 unless told otherwise, no mDNS, no UPnP."""

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
    return new_host(key_pair=key_pair, sec_opt=noise_only(key_pair), muxer_preference="YAMUX",
                    enable_mDNS=False, enable_upnp=False, psk=network_psk,
                    # advertise only what we listen on, never ports others observed us dial from
                    disable_identify_address_discovery=True)


def listen_addr(host: str, port: int) -> multiaddr.Multiaddr:
    return multiaddr.Multiaddr(f"/ip4/{host}/tcp/{port}")
