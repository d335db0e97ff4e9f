"""Rate limits counted where every web process sees them, reported as ListenBrainz reports them.

DRF's own throttles keep a list of request times per client, read it from the cache and write
it back: two processes serving the same client at once each write their own list, and one of
the requests goes uncounted. These count each client's requests in fixed windows (a minute
for ``60/min``, starting on the minute) with the cache's atomic ``add`` and ``incr``. With a
Redis cache (``REDIS_CACHE_URL``) every web process counts into the same key and no request is
lost; a window's key expires soon after the window ends.

Each throttle that runs records the client's budget on the request (``RateLimit``);
``common.middleware.RateLimitHeadersMiddleware`` sends it in ListenBrainz's headers:

- ``X-RateLimit-Limit``: requests allowed per window;
- ``X-RateLimit-Remaining``: requests left in the current window;
- ``X-RateLimit-Reset-In``: seconds until the window resets and the budget is whole again.

A 429 also carries ``Retry-After``, the same number of seconds (DRF's exception handling sets
it from ``wait()``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from django.http import HttpRequest
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

# An API token as DRF makes them (40 hex digits), in the header both APIs read.
TOKEN_HEADER = re.compile(r"(?i:token) ([0-9a-f]{40})")
# How long a window's counter outlives its window. Only a request that took this long between
# reading the clock and counting could find its window's key expired (and count it anew).
WINDOW_KEY_GRACE_SECONDS = 60


@dataclass(frozen=True)
class RateLimit:
    """A client's budget under one throttle, right after the request was counted."""

    limit: int
    remaining: int
    reset_in: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset-In": str(self.reset_in),
        }


def _http_request(request) -> HttpRequest:
    # Throttles get DRF's Request; the middleware sees the HttpRequest it wraps.
    return getattr(request, "_request", request)


def most_restrictive(rate_limits: list[RateLimit]) -> RateLimit:
    """The budget that runs out first: the fewest requests left, then the longest wait."""
    return min(rate_limits, key=lambda rate_limit: (rate_limit.remaining, -rate_limit.reset_in))


def rate_limit_of(request: HttpRequest) -> RateLimit | None:
    """The client's budget for this response.

    The budget the view's throttles counted when they ran. Otherwise the request was refused
    before throttling (a bad token, a missing permission, an unknown path, a refused body) or
    its view has no throttles: then the client's current budget under the default throttles,
    without counting this request, as DRF does not count requests refused before its
    throttles run. The client is the listener whose token the request carries, even where no
    view read it (an unknown path), so a client sees one budget whatever it asks.
    """
    counted = getattr(request, "rate_limits", None)
    if counted:
        return most_restrictive(counted)
    user = _authenticated_user(request) or _token_user(request)
    current = [
        rate_limit
        for throttle_class in api_settings.DEFAULT_THROTTLE_CLASSES
        if issubclass(throttle_class, FixedWindowRateThrottle)
        and (rate_limit := throttle_class().current(request, user=user)) is not None
    ]
    return most_restrictive(current) if current else None


def _authenticated_user(request):
    # A request refused before Django's authentication middleware ran has no user at all.
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _token_user(request: HttpRequest):
    # Only a well-formed key reaches the database: the header may be what a guard refused.
    match = TOKEN_HEADER.fullmatch(request.headers.get("Authorization", ""))
    if match is None:
        return None
    try:
        user, _ = TokenAuthentication().authenticate_credentials(match[1])
    except AuthenticationFailed:
        return None
    return user


class FixedWindowRateThrottle(SimpleRateThrottle):
    """DRF's rate strings (``"600/min"``) and cache keys, counted in fixed windows."""

    rate_limit: RateLimit | None = None

    def client_key(self, *, user, request) -> str | None:
        """The client's counter key, or None if this throttle does not apply to it."""
        raise NotImplementedError

    def get_cache_key(self, request, view) -> str | None:
        return self.client_key(user=_authenticated_user(request), request=request)

    def get_rate(self) -> str | None:
        # DRF's throttles read the rates once, at import; these read them when made (once per
        # request), so a changed REST_FRAMEWORK setting applies at once, in tests too.
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        return super().get_rate()

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        client_key = self.get_cache_key(request, view)
        if client_key is None:
            return True
        key, reset_in = self._window(client_key)
        count = self._count(key)
        self.rate_limit = RateLimit(
            limit=self.num_requests,
            remaining=max(0, self.num_requests - count),
            reset_in=reset_in,
        )
        http_request = _http_request(request)
        http_request.rate_limits = [*getattr(http_request, "rate_limits", []), self.rate_limit]
        return count <= self.num_requests

    def wait(self) -> int | None:
        return self.rate_limit.reset_in if self.rate_limit is not None else None

    def current(self, request: HttpRequest, *, user) -> RateLimit | None:
        """The budget now of ``user`` (None: anonymous) sending ``request``, without counting
        a request; None if this throttle does not apply to that client."""
        if self.rate is None:
            return None
        client_key = self.client_key(user=user, request=request)
        if client_key is None:
            return None
        key, reset_in = self._window(client_key)
        count = self.cache.get(key, 0)
        return RateLimit(
            limit=self.num_requests, remaining=max(0, self.num_requests - count), reset_in=reset_in
        )

    def _window(self, client_key: str) -> tuple[str, int]:
        """The current window's counter key, and whole seconds until the window ends (≥ 1)."""
        now = self.timer()
        window = int(now // self.duration)
        reset_in = max(1, math.ceil((window + 1) * self.duration - now))
        return f"{client_key}:{window}", reset_in

    def _count(self, key: str) -> int:
        timeout = self.duration + WINDOW_KEY_GRACE_SECONDS
        # add creates the counter only if it is missing, incr counts atomically: concurrent
        # requests from any number of processes each get their own count.
        self.cache.add(key, 0, timeout=timeout)
        try:
            return self.cache.incr(key)
        except ValueError:
            # Gone between add and incr: evicted from a full local-memory cache, say.
            if self.cache.add(key, 1, timeout=timeout):
                return 1
            return self.cache.incr(key)


class AnonRateThrottle(FixedWindowRateThrottle):
    """Requests without a listener, counted per client address (``THROTTLE_ANON_RATE``)."""

    scope = "anon"

    def client_key(self, *, user, request) -> str | None:
        if user is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UserRateThrottle(FixedWindowRateThrottle):
    """Requests of an authenticated listener, counted per listener (``THROTTLE_USER_RATE``).

    Unlike DRF's, it leaves anonymous requests to ``AnonRateThrottle`` alone, so every request
    is counted under exactly one budget, the one its headers report.
    """

    scope = "user"

    def client_key(self, *, user, request) -> str | None:
        if user is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}
