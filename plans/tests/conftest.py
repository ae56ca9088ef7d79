import pytest

from plans.models import Plan


@pytest.fixture
def plan_factory(db):
    """A plan with the given limits and features (anything not named: unlimited, no feature)."""
    counter = {"n": 0}

    def make(**fields) -> Plan:
        counter["n"] += 1
        fields.setdefault("code", f"test-{counter['n']}")
        fields.setdefault("name", f"Test {counter['n']}")
        return Plan.objects.create(**fields)

    return make


@pytest.fixture
def on_plan(plan_factory):
    """Puts ``store`` on a new plan with these limits and features; returns the plan."""

    def put(store, **fields) -> Plan:
        plan = plan_factory(**fields)
        store.plan = plan
        store.save(update_fields=["plan"])
        return plan

    return put


def refused(response, limit: str, used, allowed) -> None:
    """The contract's refusal: 403 PLAN_LIMIT_REACHED with the limit, what is used and what is allowed."""
    assert response.status_code == 403, response.json()
    error = response.json()["error"]
    assert error["code"] == "PLAN_LIMIT_REACHED", error
    assert {key: error["details"][key] for key in ("limit", "used", "allowed")} == {
        "limit": limit,
        "used": used,
        "allowed": allowed,
    }
