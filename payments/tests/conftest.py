"""Payments test data: the orders tests' catalog rows and carts (one way to make them)."""

from orders.tests.conftest import cart_with, make_variant

__all__ = ["cart_with", "make_variant"]
