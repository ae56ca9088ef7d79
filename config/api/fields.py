"""Bounds that serializers share with the database."""

# IntegerField and PositiveIntegerField are 32-bit columns on PostgreSQL: a larger number must be
# refused as input (400), not sent to the database (integer out of range, a 500).
INTEGER_MAX = 2**31 - 1
