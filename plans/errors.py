from config.api.errors import DomainError


class PlanLimitReached(DomainError):
    """403 PLAN_LIMIT_REACHED: the store's plan allows no more of ``limit`` (details ``{limit, used, allowed}``:
    a count and its ceiling; for a feature the plan lacks, ``used`` is null and ``allowed`` false)."""

    code = "PLAN_LIMIT_REACHED"
    status_code = 403
    default_message = "The store's plan does not allow more of this; upgrade the plan."
