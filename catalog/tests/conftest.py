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


@pytest.fixture
def forget_store_ids():
    """The catalog cache's per-process slug → id memo outlives each test's rolled-back stores (a module that counts
    queries uses it: ``pytest.mark.usefixtures("forget_store_ids")``)."""
    from catalog import cache as catalog_cache

    catalog_cache._slug_ids.clear()


def url(store, path: str = "") -> str:
    return f"/api/v1/stores/{store.slug}/{path}"
