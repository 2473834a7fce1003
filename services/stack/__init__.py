"""Bringing the system up on one machine: the local chain, the deployment, and (later) every service."""
