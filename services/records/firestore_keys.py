"""Wrapped record keys in Firestore: `{prefix}_keys/{namespace}/record_keys/{key_ref}`, in the
records' database or another one (`firestore_key_database`), never beside the ciphertexts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from google.cloud import firestore

from services.records.keystore import KeyStorage, WrappedKey

MAX_WRITES_PER_BATCH = 500


def chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class FirestoreKeyStorage(KeyStorage):
    COLLECTION = "record_keys"

    def __init__(self, client: firestore.Client, prefix: str, namespace: str) -> None:
        self._client = client
        self._col = (
            client.collection(f"{prefix}_keys").document(namespace).collection(self.COLLECTION)
        )

    def _write(self, keys: Iterable[WrappedKey], op: str) -> None:
        for chunk in chunks(list(keys), MAX_WRITES_PER_BATCH):
            batch = self._client.batch()
            for k in chunk:
                data = {"kek_id": k.kek_id, "wrapped": k.wrapped}
                getattr(batch, op)(self._col.document(k.key_ref), data)
            batch.commit()

    def put_many(self, keys: Iterable[WrappedKey]) -> None:
        self._write(keys, "create")

    def replace_many(self, keys: Iterable[WrappedKey]) -> None:
        self._write(keys, "update")

    def get(self, key_ref: str) -> WrappedKey | None:
        snap = self._col.document(key_ref).get()
        if not snap.exists:
            return None
        return WrappedKey(key_ref, snap.get("kek_id"), snap.get("wrapped"))

    def get_many(self, key_refs: list[str]) -> dict[str, WrappedKey]:
        out = {}
        for chunk in chunks(list(dict.fromkeys(key_refs)), 300):
            for snap in self._client.get_all([self._col.document(r) for r in chunk]):
                if snap.exists:
                    out[snap.id] = WrappedKey(snap.id, snap.get("kek_id"), snap.get("wrapped"))
        return out

    def destroy(self, key_refs: list[str]) -> None:
        for chunk in chunks(list(key_refs), MAX_WRITES_PER_BATCH):
            batch = self._client.batch()
            for ref in chunk:
                batch.delete(self._col.document(ref))
            batch.commit()

    def scan(self) -> Iterator[WrappedKey]:
        for snap in self._col.stream():
            yield WrappedKey(snap.id, snap.get("kek_id"), snap.get("wrapped"))
