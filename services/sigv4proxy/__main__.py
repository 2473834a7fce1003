"""`python -m services.sigv4proxy [...]` = `pulseledger proxy [...]`, and
`python -m services.sigv4proxy ws [...]` = `pulseledger proxy-ws [...]`, without importing the
other services' commands (the stack's pull in web3 and ape: seconds of start-up not needed here)."""

import sys

from .cli import proxy, proxy_ws

if __name__ == "__main__":
    if sys.argv[1:2] == ["ws"]:
        proxy_ws(args=sys.argv[2:], prog_name="python -m services.sigv4proxy ws")
    else:
        proxy(prog_name="python -m services.sigv4proxy")
