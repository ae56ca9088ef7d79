from payments.tests.card import card_gateway  # noqa: F401 - a fixture for every payments test
