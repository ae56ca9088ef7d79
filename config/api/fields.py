"""Bounds that serializers share with the database."""

# IntegerField and PositiveIntegerField are 32-bit columns on PostgreSQL: a larger number must be
# refused as input (400), not sent to the database (integer out of range, a 500).
INTEGER_MAX = 2**31 - 1


def json_text_problem(value) -> str | None:
    """What PostgreSQL's jsonb would refuse in a JSON value's keys and strings (a NUL, a lone
    surrogate), as a message; None when it stores as it is."""
    if isinstance(value, dict):
        return next((problem for key, item in value.items()
                     for problem in (json_text_problem(key), json_text_problem(item)) if problem), None)
    if isinstance(value, list):
        return next((problem for item in value if (problem := json_text_problem(item))), None)
    if isinstance(value, str):
        if "\x00" in value:
            return "Null characters are not allowed."
        if any("\ud800" <= char <= "\udfff" for char in value):
            return "Surrogate characters are not allowed."
    return None
