"""The page fixtures (the app, signed-in browsers) for the notification tests too."""

from tests.pages.conftest import anonymous, app, client_for  # noqa: F401
