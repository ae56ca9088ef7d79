import pytest


@pytest.fixture
def staff(store, member_factory):
    return member_factory(store, "staff")


@pytest.fixture
def staff_api(staff, client_for):
    return client_for(staff)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
