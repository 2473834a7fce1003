"""A running `pulseledger up` serves the dapp configured for its chain and gateway, and with its
output piped prints the demo people and a plain status line every few seconds; Ctrl-C stops it
and every process it started is gone afterwards."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from eth_account import Account

from tests.stack.conftest import up_env


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_up__sigint_after_ready__nothing_left_running(copy_of_deployed):
    state_dir, port = copy_of_deployed
    process = subprocess.Popen([sys.executable, "-m", "services", "up"],
                               env=up_env(state_dir, port,
                                          PULSELEDGER_STACK_PLAIN_STATUS_INTERVAL_S="0.5"),
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        output = []
        for line in process.stdout:
            output.append(line)
            if line.startswith("Up."):
                break
        assert any(line.startswith("Up.") for line in output), "".join(output)
        started = descendants(process.pid)
        assert len(started) >= 2  # anvil and the gateway at least
        ready_line = next(line for line in output if line.startswith("Up."))
        dapp = re.search(r"dapp: (http://127\.0\.0\.1:\d+)", ready_line).group(1)
        assert "<div id=\"root\"" in requests.get(dapp + "/", timeout=5).text
        config = requests.get(dapp + "/config.json", timeout=5).json()
        deployed = json.loads((state_dir / "deployments.json").read_text())
        assert config["contract"] == deployed["contracts"]["PulseLedger"]["address"]
        assert requests.get(config["gatewayUrl"] + "/healthz", timeout=5).status_code == 200
        # Piped, not a terminal: the demo people were printed, then plain status lines follow.
        patient = next(line for line in output if line.strip().startswith("patient 0"))
        assert re.search(r"0x[0-9a-fA-F]{40}  key 0x[0-9a-f]{64}", patient), patient
        # Each printed key imports as the wallet printed beside it: patients, doctor, requester.
        people = {match[1]: (match[2], match[3]) for match in re.finditer(
            r"^  (patient \d+|doctor|requester) +(0x[0-9a-fA-F]{40})  key (0x[0-9a-f]{64})",
            "".join(output), re.MULTILINE)}
        assert {"patient 0", "doctor", "requester"} <= set(people), "".join(output)
        for who, (address, key) in people.items():
            assert Account.from_key(key).address == address, who
        assert any("pair the spare wearable 12D3KooW" in line and re.search(
            r"/#/onboarding\?device=12D3KooW\w+&code=\d+\.[\w-]{86} ", line) for line in output)
        statuses = []
        for line in process.stdout:
            output.append(line)
            if line.startswith("status +"):
                statuses.append(line)
            if len(statuses) == 2:
                break
        assert len(statuses) == 2, "".join(output)
        assert "gateway running" in statuses[-1] and "on-chain events" in statuses[-1]

        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)

        assert process.returncode == 0, "".join(output) + rest
        assert "Stopped cleanly." in rest
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(alive(pid) for pid in started):
            time.sleep(0.1)
        assert [pid for pid in started if alive(pid)] == []
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
