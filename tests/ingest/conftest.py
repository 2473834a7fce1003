import pytest

from services.ingest.settings import IngestSettings
from services.peers.interim_records import InterimRecordStore


@pytest.fixture
def store(tmp_path):
    store = InterimRecordStore(tmp_path / "records.db")
    yield store
    store.close()


@pytest.fixture
def settings():
    return IngestSettings()
