"""Who a developer can act as in the dapp after `pulseledger up`: the demo patients, their doctor
and the requester, with the wallet key to import for each.

The keys are public by construction (derived from the demo seed, or anvil's well-known dev
accounts): they are printed only for the local chain, where they hold nothing real.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.ingest.device_identity import peer_id_for
from services.ingest.pairing import pairing_code
from services.notify.links import patient_link
from services.stack import demo_people
from services.stack.dev_accounts import REQUESTER_INDEX, dev_account
from services.stack.settings import StackSettings

SPARE_CODE_GOOD_FOR_MS = 7 * 86_400_000


@dataclass(frozen=True)
class DemoAccount:
    who: str
    address: str
    key: str | None  # hex private key to import into a wallet; None off the local chain
    note: str


def demo_accounts(settings: StackSettings, local_chain: bool, dapp_url: str) -> list[DemoAccount]:
    def key(account) -> str | None:
        return account.key.to_0x_hex() if local_chain else None

    accounts = []
    if settings.simulate:
        irregular = settings.simulate_irregular_users
        for patient in demo_people.patients(settings.demo_seed, settings.simulate_users):
            rhythm = "irregular rhythm" if patient.index < irregular else "regular rhythm"
            accounts.append(DemoAccount(
                f"patient {patient.index}", patient.account.address, key(patient.account),
                f"{rhythm}; wearable {peer_id_for(patient.device_key)[:16]}…; "
                f"heart data: {patient_link(dapp_url, patient.account.address)}"))
        doctor, _ = demo_people.doctor(settings.demo_seed)
        accounts.append(DemoAccount("doctor", doctor.address, key(doctor),
                                    f"linked by every demo patient: {dapp_url.rstrip('/')}/#/doctor"))
    if settings.demo_requester:
        requester = dev_account(REQUESTER_INDEX)
        accounts.append(DemoAccount("requester", requester.address, key(requester),
                                    "asked patient 0 for heart-rate windows and exports, buys "
                                    "the first heart-rate bundle (demo sale): "
                                    f"{dapp_url.rstrip('/')}/#/research"))
    return accounts


def spare_wearable(settings: StackSettings) -> str | None:
    """The peer id of the wearable `up` keeps unpaired for a new patient (services.stack.actors
    `spare`: the simulator's key of index `simulate_users`), or None when nothing streams."""
    if not (settings.simulate and settings.peers):
        return None
    return peer_id_for(demo_people.device_public_key(settings.demo_seed,
                                                         settings.simulate_users))


def spare_pairing_code(settings: StackSettings, now_ms: int) -> str:
    """The spare wearable's pairing code, as its screen would show it: good for a week (the
    gateway takes codes good for at most `pairing_code_longest_s`, 30 days by default)."""
    return pairing_code(demo_people.device(settings.demo_seed, settings.simulate_users),
                        now_ms + SPARE_CODE_GOOD_FOR_MS)
