import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visionqa.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chat.routing import websocket_urlpatterns  # noqa: E402
from visionqa import daphne_bodylimit, daphne_websocket, lifecycle  # noqa: E402
from visionqa.bodylimit import BodyLimit  # noqa: E402
from visionqa.origins import SameOriginValidator  # noqa: E402
from visionqa.requestlog import RequestLog  # noqa: E402

# The `daphne` command imports this module before it serves: from then on its
# requests stop reading a body over the limit, and its websockets close with
# 1009 on a message over Daphne's limit (see the modules).
daphne_bodylimit.install()
daphne_websocket.install()

application = ProtocolTypeRouter(
    {
        "http": RequestLog(BodyLimit(django_asgi_app)),
        "websocket": SameOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

# Under Daphne (which installs Twisted's asyncio reactor before it loads this
# module): the sweep for dead replies, and a graceful end on SIGTERM.
if "twisted.internet.reactor" in sys.modules:
    lifecycle.install(sys.modules["twisted.internet.reactor"])
