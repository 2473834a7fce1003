"""`python -m services.sigv4proxy` = `pulseledger proxy`, without importing the other services'
commands (the stack's pull in web3 and ape: seconds of start-up the proxy does not need)."""

from .cli import proxy

if __name__ == "__main__":
    proxy(prog_name="python -m services.sigv4proxy")
