from django.apps import AppConfig


class MakerConfig(AppConfig):
    name = "maker"
    verbose_name = "Maker services"

    def ready(self) -> None:
        # orders sits below maker: a quote in a cart is an orders custom line whose kind ("quote") is handed down
        # here, with what the order answer shows of a quoted line (its print job) (docs/ARCHITECTURE.md "Layers")
        from orders.selectors import order_line_details_reader_register
        from orders.services import custom_line_kind_register

        from .services import QUOTE_KIND, quote_line_placed, quote_line_problem, service_orders_describe

        custom_line_kind_register(QUOTE_KIND, problem=quote_line_problem, placed=quote_line_placed)
        order_line_details_reader_register(service_orders_describe)
