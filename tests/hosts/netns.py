"""The private network namespace the several-hosts tests run in: three simulated hosts on
loopback addresses, cut off one at a time with nftables rules that exist only in that namespace.

A fresh namespace (`unshare -n`) has nothing but a loopback interface, down: no traffic can leave
it, and its rules vanish with it, so the machine's own firewall is never touched."""

from __future__ import annotations

import json
import shutil
import subprocess

HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
TABLE = "pulseledger_hostcut"  # the one nftables table a cut adds; healing deletes it


def unavailable() -> str | None:
    """Why the tests cannot make a namespace here (None: they can)."""
    for tool in ("unshare", "ip", "nft", "ss"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (make setup installs nftables)"
    probe = subprocess.run(["unshare", "-n", "nft", "list", "tables"], check=False,
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"cannot make a network namespace with nftables: {probe.stderr.strip()}"
    return None


def bring_up_loopback() -> list[str]:
    """Bring lo up; returns the namespace's interfaces (only lo, or the test is not isolated)."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    links = json.loads(subprocess.run(["ip", "-j", "link"], check=True, capture_output=True,
                                      text=True).stdout)
    return [link["ifname"] for link in links]


def cut_off(address: str) -> None:
    """Drop every packet from or to `address`: its peers can neither reach nor be reached.
    Established connections stall rather than close, as on a real partition."""
    rules = (f"table inet {TABLE} {{\n chain out {{\n  type filter hook output priority 0;\n"
             f"  ip saddr {address} drop\n  ip daddr {address} drop\n }}\n}}\n")
    subprocess.run(["nft", "-f", "-"], input=rules, text=True, check=True)


def heal() -> None:
    subprocess.run(["nft", "delete", "table", "inet", TABLE], check=False,
                   capture_output=True)  # nothing to delete: not cut


def established_tcp() -> list[tuple[str, int, str, int]]:
    """(local ip, local port, remote ip, remote port) of every established TCP connection."""
    out = subprocess.run(["ss", "-Htn", "state", "established"], check=True, capture_output=True,
                         text=True).stdout
    connections = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        (local_ip, local_port), (remote_ip, remote_port) = (
            field.rsplit(":", 1) for field in fields[2:4])
        connections.append((local_ip, int(local_port), remote_ip, int(remote_port)))
    return connections
