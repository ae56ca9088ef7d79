"""GET /api/v1/stream (Server-Sent Events, served by the ASGI server) and POST /api/v1/stream/ticket."""

import asyncio
import json
import time
from urllib.parse import urlencode

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from config.api.envelope import error_body
from config.api.errors import NotFound, PermissionDenied
from config.api.headers import no_store
from config.api.parsers import JSONParser
from config.api.renderers import ok
from orders.selectors import order_by_number, order_visible
from teams.scoping import store_by_slug

from . import serializers as io
from .access import Refused, Viewer, cart_viewer, ticket_issue, viewer_from_request, viewer_refresh, visible
from .hub import ChannelUnavailable, database, hub

TAGS = ["live"]
_open_streams = 0  # this process's


def _refusal(code: str, message: str, status: int, **headers) -> JsonResponse:
    response = JsonResponse(error_body(code, message), status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


@csrf_exempt
async def stream(request):
    """The caller's live events as text/event-stream (README "Live updates"). Under the WSGI server (which would
    hold a sync worker per client) it points at the ASGI one: a redirect to LIVE_STREAM_URL, or 503."""
    global _open_streams
    if request.method != "GET":
        return _refusal("METHOD_NOT_ALLOWED", f"Method {request.method} is not allowed.", 405, Allow="GET")
    if request.GET.get("probe"):
        # whether a stream is served at this path (the admin's script asks before it opens one, so that a server
        # without it costs the page no failed request): always 200, names no one
        response = JsonResponse({"served": isinstance(request, ASGIRequest) or bool(settings.LIVE_STREAM_URL)})
        response["Cache-Control"] = "no-store"
        return response
    if not isinstance(request, ASGIRequest):
        if settings.LIVE_STREAM_URL:
            return HttpResponseRedirect(settings.LIVE_STREAM_URL + (f"?{request.META['QUERY_STRING']}"
                                                                    if request.META.get("QUERY_STRING") else ""),
                                        status=307)
        return _refusal("SERVICE_UNAVAILABLE", "The live stream is served by the ASGI server (README 'Live updates').",
                        503, Retry_After="60")
    try:
        viewer = await database(viewer_from_request)(request)
    except Refused as exc:
        return _refusal(exc.code, exc.message, exc.status)
    if _open_streams >= settings.LIVE_MAX_STREAMS:
        return _refusal("SERVICE_UNAVAILABLE", "This server holds as many streams as it may; retry shortly.", 503,
                        Retry_After="5")
    last_event_id = (request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or "").strip()
    try:
        queue, position = await hub().subscribe()
    except ChannelUnavailable:
        return _refusal("SERVICE_UNAVAILABLE", "Live updates are unavailable for a moment.", 503, Retry_After="5")
    _open_streams += 1
    response = StreamingHttpResponse(_events(viewer, queue, position, last_event_id),
                                     content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def _event(entry_id: str, kind: str, data) -> str:
    return f"id: {entry_id}\nevent: {kind}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


async def _events(viewer: Viewer, queue: asyncio.Queue, position: str, last_event_id: str):
    global _open_streams
    current = hub()
    source = current.channel
    try:
        yield f"retry: {settings.LIVE_RETRY_MS}\n: connected\n\n"
        if last_event_id:
            if not source.valid(last_event_id) or source.key(last_event_id) > source.key(position) or not (
                    await database(source.resumable)(last_event_id)):
                # older than the resume window (or not ours): the client reloads what it shows from the API
                yield _event(position, "resync", {"reason": "The events since Last-Event-ID are no longer kept."})
            else:
                cursor = last_event_id
                while True:
                    entries = await database(source.read)(cursor, until=position)
                    chunk = "".join(_event(entry.id, entry.record["type"], shown) for entry in entries
                                    if (shown := visible(viewer, entry.record)) is not None)
                    if chunk:
                        yield chunk
                    if len(entries) < 1000:
                        break
                    cursor = entries[-1].id
        sent, now = position, time.monotonic()
        heartbeat_at, recheck_at = now + settings.LIVE_HEARTBEAT_SECONDS, now + settings.LIVE_RECHECK_SECONDS
        while True:
            wait = max(0.0, min(heartbeat_at, recheck_at) - time.monotonic())
            try:
                entries = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                entries = []
            now = time.monotonic()
            if now >= recheck_at:
                recheck_at = now + settings.LIVE_RECHECK_SECONDS
                if not await database(viewer_refresh)(viewer):
                    yield _event(sent, "closed", {"reason": "The stream's credentials no longer hold; reconnect "
                                                            "with a new ticket or token."})
                    return
            chunk = []
            for entry in entries:
                if source.key(entry.id) <= source.key(sent):
                    continue
                sent = entry.id
                shown = visible(viewer, entry.record)
                if shown is not None:
                    chunk.append(_event(entry.id, entry.record["type"], shown))
            if chunk:
                yield "".join(chunk)
                heartbeat_at = now + settings.LIVE_HEARTBEAT_SECONDS
            elif now >= heartbeat_at:
                # the id moves the client's Last-Event-ID past what it was not shown (no event is dispatched)
                yield f": heartbeat\nid: {sent}\n\n"
                heartbeat_at = now + settings.LIVE_HEARTBEAT_SECONDS
            if not entries and not current.subscribed(queue):
                return  # fell too far behind: the client resumes from its Last-Event-ID
    finally:
        current.unsubscribe(queue)
        _open_streams -= 1


class StreamTicketView(APIView):
    """POST /api/v1/stream/ticket: a short-lived ticket for EventSource, which cannot send an Authorization
    header (a ticket in the URL, never the JWT)."""

    parser_classes = [JSONParser]
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS, request=io.TicketInput, responses={
            201: io.TicketOutput,
            401: OpenApiResponse(description="AUTHENTICATION_REQUIRED: neither signed in nor a guest's cart or order"),
            404: OpenApiResponse(description="NOT_FOUND: no such anonymous cart, or no order of that number and email"),
        },
        summary="A ticket that opens GET /api/v1/stream for LIVE_TICKET_SECONDS: the caller's stores, orders and "
                "notifications (signed in), or a guest's cart or order",
    )
    @no_store
    def post(self, request):
        data = io.TicketInput(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values.get("cart"):
            try:
                ticket = ticket_issue(cart_id=cart_viewer(values["cart"]).cart_id)
            except Refused:
                raise NotFound("No such cart.") from None
        elif values.get("order"):
            store = store_by_slug(values.get("store") or "")
            order = order_by_number(store=store, number=values["order"]) if store is not None else None
            if order is None or not order_visible(order=order, is_member=False, user=request.user,
                                                  email=values.get("email")):
                raise NotFound("No such order.")
            ticket = ticket_issue(order_id=order.pk)
        elif getattr(request, "auth", None) is not None and not request.user.is_authenticated:
            raise PermissionDenied("API keys do not open streams; sign in as a user.")
        elif request.user.is_authenticated:
            ticket = ticket_issue(user=request.user)
        else:
            raise NotAuthenticated()
        return ok({"ticket": ticket, "expires_in": settings.LIVE_TICKET_SECONDS,
                   "url": _stream_url(request, ticket)}, status=201)


def _stream_url(request, ticket: str) -> str:
    base = settings.LIVE_STREAM_URL or request.build_absolute_uri("/api/v1/stream")
    return f"{base}?{urlencode({'ticket': ticket})}"


@require_POST
def admin_ticket(request):
    """POST /admin/live/ticket/ (admin.site.admin_view: a signed-in staff member, CSRF checked): a stream ticket for
    the admin's live notices (live/static/live/admin-live.js; admin_view answers it never_cache). The stream shows
    them what live.access does."""
    ticket = ticket_issue(user=request.user)
    return JsonResponse({"ticket": ticket, "expires_in": settings.LIVE_TICKET_SECONDS,
                         "url": _stream_url(request, ticket)}, status=201)
