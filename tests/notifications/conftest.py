"""The page fixtures (the app, signed-in browsers) and the API's (a client, bearer tokens)
for the notification tests too."""

from tests.api.conftest import auth, client, tokens  # noqa: F401
from tests.pages.conftest import anonymous, app, client_for  # noqa: F401
