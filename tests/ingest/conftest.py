import pytest

from services.ingest.settings import IngestSettings
from services.peers.backends import records_settings
from services.records import open_store


@pytest.fixture
def store(tmp_path):
    store = open_store(records_settings(tmp_path))
    yield store
    store.close()


@pytest.fixture
def settings():
    return IngestSettings()
