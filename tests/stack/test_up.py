"""`pulseledger up` on a real anvil: deploys once, and a restart reuses the chain and the contracts."""

import json

from tests.stack.conftest import run_up


def test_up__first_run_then_restart__deploys_once_and_reuses(deployed_state, copy_of_deployed):
    source, _, first = deployed_state
    address = json.loads((source / "deployments.json").read_text())["contracts"]["PulseLedger"]["address"]
    assert "deployed" in first.stdout and address in first.stdout
    state_dir, port = copy_of_deployed
    assert (state_dir / "chain" / "anvil-state.json").exists()

    second = run_up(state_dir, port)

    assert second.returncode == 0, second.stdout + second.stderr
    assert "reused" in second.stdout and address in second.stdout
    again = json.loads((state_dir / "deployments.json").read_text())["contracts"]["PulseLedger"]["address"]
    assert again == address


def test_up__first_run__every_component_reported(deployed_state):
    _, _, first = deployed_state
    for component in ("gateway", "peers", "devices", "listeners", "dapp", "onboarding",
                      "wearables", "requester"):
        assert component in first.stdout
    assert "on-chain events" in first.stdout and "outbox" in first.stdout
    assert "failed" not in first.stdout
    assert "Stopped cleanly." in first.stdout


def test_up__demo_actors_ran_once__state_remembers_the_request(deployed_state):
    source, _, _ = deployed_state
    state = json.loads((source / "demo.json").read_text())
    # one consent request for the one deployment; the demo sale may have completed too (it
    # does within about two minutes of up, so whether it did by now depends on the machine)
    requests = {k: v for k, v in state.items() if k.startswith("request@")}
    assert len(requests) == 1 and next(iter(requests.values())) >= 1
    address = next(iter(requests)).split("@", 1)[1]
    assert set(state) <= {f"request@{address}", f"sale@{address}"}
    assert "onboarded 4 patients" in (source / "logs" / "onboarding.log").read_text()


def test_up__chain_state_lost__deploys_afresh(copy_of_deployed):
    state_dir, port = copy_of_deployed
    (state_dir / "chain" / "anvil-state.json").unlink()

    result = run_up(state_dir, port, PULSELEDGER_STACK_SIMULATE="false",
                    PULSELEDGER_STACK_DEMO_REQUESTER="false")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "deployed" in result.stdout
