from rest_framework.routers import SimpleRouter


class Router(SimpleRouter):
    """Paths without a trailing slash; the same path with one is accepted too."""

    def __init__(self) -> None:
        super().__init__()
        # SimpleRouter turns any truthy trailing_slash into "/", so the optional form is set here.
        self.trailing_slash = "/?"
