"""How big oauth2-proxy's session is on the wire, and whether NGINX lets it through (issue 14, journey 3).

oauth2-proxy 7.15.3 (chart 10.7.0) writes a cookie session as (pkg/apis/sessions/session_state.go
``EncodeSessionState``, pkg/sessions/cookie/session_store.go, pkg/encryption/cipher.go and utils.go):

    msgpack(SessionState) -> LZ4 frame -> AES-CFB (16-byte IV in front) -> base64url (padded)
    -> "<value>|<unix time>|<HMAC-SHA256, base64url>"  (encryption.SignedValue)
    -> one Set-Cookie, or ``<name>_0``, ``<name>_1``... when ``Cookie.String()`` exceeds 4000 bytes
       (session_store.go ``maxCookieLength``, ``splitCookie``)

The session holds the ID, access and refresh tokens plus email, user, groups and the OIDC nonce. The
tokens are base64 of signed JSON, which LZ4 (no entropy coding) barely shrinks, so this model takes
no credit for compression: it is an upper bound, and tests/components/edge/test_session_size.py
checks it against the real encoding (msgpack + LZ4 + AES-CFB) of sessions with random tokens.

The limits it is held to are NGINX's, in front of everything (nginx/nginx-gateway-fabric#4050):

- the browser sends every cookie of the host back in one ``Cookie`` request line, and NGINX refuses a
  line longer than one ``large_client_header_buffers`` buffer (8k; 400 Bad Request). NGF exposes no
  setting for it (only raw snippets, which this platform keeps disabled), so the session must fit
  in it, next to Airflow's own cookies (:data:`OTHER_COOKIES_BYTES`);
- a response's headers must fit NGINX's ``proxy_buffer_size`` (4k default on x86-64), or the
  client gets a 502 ("upstream sent too big header"): the login callback carries the whole session in
  Set-Cookie, and a proxied response carries Airflow's headers, the ``X-Auth-Request-Groups`` line
  (``set_xauthrequest``) and, on an hourly refresh, the session again. :func:`proxy_buffer_size`
  sizes the ProxySettingsPolicy for that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: session_store.go ``maxCookieLength``: a cookie (name, value, attributes) longer than this is split.
MAX_COOKIE_LENGTH = 4000
#: NGINX ``large_client_header_buffers`` default (4 x 8k): no request header line may be longer.
NGINX_HEADER_LINE_BYTES = 8192
#: What the Airflow host's other cookies may take of that line: FAB's ``session`` (a signed id: the
#: session itself is in the database, ``[fab] session_backend = database``), Airflow's ``_token`` JWT,
#: oauth2-proxy's CSRF cookie during a login, and cookies of the parent domain the browser adds.
OTHER_COOKIES_BYTES = 2048
#: A response's headers other than the session and groups: Airflow's own (Content-Security-Policy,
#: cache, content type...), oauth2-proxy's Location and cleared CSRF cookie on the callback.
OTHER_RESPONSE_HEADERS_BYTES = 4096
#: The IdP's logout URL around the ID token: endpoint, client id, post-logout redirect URI (encoded).
LOGOUT_URL_BYTES = 512
#: The most a groups line may take. oauth2-proxy sends the groups to Airflow on every request
#: (``X-Forwarded-Groups``, pass_user_headers) and back on every response (``X-Auth-Request-Groups``):
#: with the session cookies (at most :func:`cookie_room`) it must stay under the tightest header limit
#: on the way, uvicorn's h11 parser's 16 KiB request head (``h11_max_incomplete_event_size``; used when
#: httptools is absent) before Envoy sidecars' 60 KiB (Kuma, Consul: ``max_request_headers_kb``).
GROUPS_HEADER_MAX_BYTES = 8192
#: NGINX ``proxy_buffer_size`` default on x86-64 (one memory page).
NGINX_DEFAULT_PROXY_BUFFER_BYTES = 4096
#: Attributes oauth2-proxy puts on the session cookie: net/http ``Cookie.String()`` with Path, Max-Age
#: (``cookie_expire`` 12h), HttpOnly, Secure, SameSite (pkg/cookies/cookies.go MakeCookieFromOptions).
COOKIE_ATTRIBUTES = "; Path=/; Max-Age=43200; HttpOnly; Secure; SameSite=Lax"
#: RS256 signature: 256 bytes, base64url without padding.
RS256_SIGNATURE_CHARS = 342
#: A JWT header (``{"alg":"RS256","kid":"<43 chars>","typ":"JWT"}``) in base64url.
JWT_HEADER_CHARS = 100
#: Claims of an ID token besides the groups (iss, sub, aud, exp, iat, auth_time, nonce, at_hash, email,
#: name, preferred_username, amr, idp, sid...), as JSON; measured from Okta and Keycloak tokens.
ID_TOKEN_CLAIMS_BYTES = 700
#: The session's own email, user (``sub``) and preferred username, at most.
IDENTITY_FIELD_BYTES = 64
#: OIDC nonce oauth2-proxy keeps in the session (32 random bytes, msgpack ``bin``).
NONCE_BYTES = 32
#: LZ4 frame around incompressible data: 7-byte header, 4-byte block size, 4-byte end mark, 4-byte
#: content checksum (pierrec/lz4 v4 writer; one 64 KB block holds any session).
LZ4_FRAME_BYTES = 19
#: AES-CFB prefixes the 16-byte IV (cipher.go ``cfbCipher.Encrypt``).
IV_BYTES = 16
#: ``|<10-digit unix time>|<base64url HMAC-SHA256, 44 chars>`` after the value (utils.go SignedValue).
SIGNATURE_SUFFIX_BYTES = 1 + 10 + 1 + 44


@dataclass(frozen=True)
class SessionShape:
    """The largest session a stack accepts (the ``oauth2ProxySession*`` settings)."""

    #: Groups in the user's groups claim.
    groups: int
    #: Bytes of the longest group name.
    group_name_bytes: int
    #: Bytes of the largest access token and of the largest refresh token, without any groups claim.
    token_bytes: int


#: The settings' defaults (``oauth2ProxySessionMax*``): 5 groups of 40 bytes, 900-byte tokens.
DEFAULT_SHAPE = SessionShape(groups=5, group_name_bytes=40, token_bytes=900)


def b64_chars(n: int, padded: bool = True) -> int:
    """Base64 length of ``n`` bytes."""
    return 4 * math.ceil(n / 3) if padded else math.ceil(n * 4 / 3)


def msgpack_str(n: int) -> int:
    """msgpack bytes of a string of ``n`` bytes (fixstr / str8 / str16 / str32)."""
    return n + (1 if n < 32 else 2 if n < 256 else 3 if n < 65536 else 5)


def groups_json_bytes(shape: SessionShape) -> int:
    """``,"groups":["...",...]`` in a token's claims."""
    return len(',"groups":[]') + shape.groups * (shape.group_name_bytes + 3) - (1 if shape.groups else 0)


def jwt_chars(claims_bytes: int) -> int:
    """Length of a signed JWT whose claims JSON has ``claims_bytes`` bytes."""
    return JWT_HEADER_CHARS + 1 + b64_chars(claims_bytes, padded=False) + 1 + RS256_SIGNATURE_CHARS


def token_sizes(shape: SessionShape) -> dict[str, int]:
    """Bytes of the ID, access and refresh token. The groups are in the ID token and, at worst (Keycloak
    by default, Okta with a groups claim on the authorization server), in the access token too."""
    groups_b64 = b64_chars(groups_json_bytes(shape), padded=False)
    return {
        "it": jwt_chars(ID_TOKEN_CLAIMS_BYTES + groups_json_bytes(shape)),
        "at": shape.token_bytes + groups_b64,
        "rt": shape.token_bytes,
    }


def session_msgpack_bytes(shape: SessionShape) -> int:
    """msgpack bytes of the SessionState (a map; keys from session_state.go's ``msgpack`` tags)."""
    field = lambda key, value: msgpack_str(len(key)) + value  # noqa: E731
    timestamp = 15  # time.Time as msgpack ext -1, 12-byte form at worst
    size = 1  # fixmap header (10 fields)
    size += field("ca", timestamp) + field("eo", timestamp)
    size += sum(field(key, msgpack_str(n)) for key, n in token_sizes(shape).items())
    size += field("n", 2 + NONCE_BYTES)
    size += field("e", msgpack_str(IDENTITY_FIELD_BYTES)) + field("u", msgpack_str(IDENTITY_FIELD_BYTES))
    size += field("pu", msgpack_str(IDENTITY_FIELD_BYTES))
    array_header = 1 if shape.groups < 16 else 3
    size += field("g", array_header + shape.groups * msgpack_str(shape.group_name_bytes))
    return size


def signed_value_chars(payload_bytes: int) -> int:
    """Cookie value for ``payload_bytes`` of LZ4-framed session: IV + ciphertext, base64url, signed."""
    return b64_chars(IV_BYTES + payload_bytes) + SIGNATURE_SUFFIX_BYTES


def split_cookies(name: str, value_chars: int) -> list[tuple[str, int]]:
    """``(cookie name, value length)`` of each cookie oauth2-proxy sets (session_store.go ``splitCookie``:
    one cookie if ``Cookie.String()`` is under :data:`MAX_COOKIE_LENGTH`, else ``name_0``, ``name_1``...
    each filled up to that length)."""
    if len(name) + 1 + value_chars + len(COOKIE_ATTRIBUTES) < MAX_COOKIE_LENGTH:
        return [(name, value_chars)]
    out: list[tuple[str, int]] = []
    left = value_chars
    while left > 0:
        chunk = f"{name}_{len(out)}"
        room = MAX_COOKIE_LENGTH - len(chunk) - 1 - len(COOKIE_ATTRIBUTES)
        out.append((chunk, min(left, room)))
        left -= min(left, room)
    return out


@dataclass(frozen=True)
class WireSize:
    """What one session costs on the wire, in bytes."""

    #: The cookies oauth2-proxy sets: (name, value length).
    cookies: tuple[tuple[str, int], ...]
    #: The request line ``Cookie: <the session cookies>\\r\\n`` the browser sends back.
    cookie_header: int
    #: Every ``Set-Cookie: ...\\r\\n`` line of the login callback's response.
    set_cookie_headers: int
    #: The ``X-Auth-Request-Groups: a,b,...\\r\\n`` line on every proxied response (and the same
    #: ``X-Forwarded-Groups`` line on every request oauth2-proxy sends Airflow).
    groups_header: int
    #: The headers of ``/oauth2/sign_out``'s redirect: a ``Location`` carrying the IdP's logout URL with
    #: the ID token in it (oauthproxy.go ``SignOut`` fills ``{id_token}``), and one cleared cookie each.
    sign_out_headers: int

    def response_headers(self) -> int:
        """The largest response header block oauth2-proxy sends through NGINX (callback or sign-out)."""
        callback = self.set_cookie_headers + self.groups_header
        return max(callback, self.sign_out_headers) + OTHER_RESPONSE_HEADERS_BYTES


def cookie_session(shape: SessionShape, name: str) -> WireSize:
    """The cookie store's session for ``shape``."""
    value = signed_value_chars(session_msgpack_bytes(shape) + LZ4_FRAME_BYTES)
    return _wire(shape, name, value)


def redis_ticket(shape: SessionShape, name: str) -> WireSize:
    """The redis store's cookie: only a ticket (pkg/sessions/persistence/ticket.go ``encodeTicket``:
    ``v2.<base64 of "<name>-<32 hex>">.<base64 of a 16-byte key>``, then SignedValue)."""
    ticket = 3 + b64_chars(len(name) + 1 + 32, padded=False) + 1 + b64_chars(16, padded=False)
    return _wire(shape, name, b64_chars(ticket) + SIGNATURE_SUFFIX_BYTES)


def _wire(shape: SessionShape, name: str, value_chars: int) -> WireSize:
    cookies = tuple(split_cookies(name, value_chars))
    pairs = sum(len(n) + 1 + v for n, v in cookies) + 2 * (len(cookies) - 1)
    set_cookie = sum(len("Set-Cookie: ") + len(n) + 1 + v + len(COOKIE_ATTRIBUTES) + 2 for n, v in cookies)
    groups = len("X-Auth-Request-Groups: ") + shape.groups * (shape.group_name_bytes + 1) + 2
    cleared = sum(len("Set-Cookie: ") + len(n) + 1 + len(COOKIE_ATTRIBUTES) + 2 for n, _ in cookies)
    sign_out = len("Location: ") + LOGOUT_URL_BYTES + token_sizes(shape)["it"] + 2 + cleared
    return WireSize(cookies, len("Cookie: ") + pairs + 2, set_cookie, groups, sign_out)


def session(shape: SessionShape, store: str, name: str) -> WireSize:
    """The session of ``store`` (``cookie`` or ``redis``)."""
    return cookie_session(shape, name) if store == "cookie" else redis_ticket(shape, name)


def cookie_room() -> int:
    """Bytes of the ``Cookie`` line the session may take: NGINX's line minus the other cookies."""
    return NGINX_HEADER_LINE_BYTES - OTHER_COOKIES_BYTES


def fits_in_cookies(shape: SessionShape, name: str) -> bool:
    """Whether the cookie store can carry ``shape`` through NGINX."""
    return cookie_session(shape, name).cookie_header <= cookie_room()


def proxy_buffer_bytes(shape: SessionShape, store: str, name: str) -> int:
    """NGINX ``proxy_buffer_size`` that holds the largest response header block oauth2-proxy sends: the
    session's Set-Cookie lines (callback, hourly refresh) with the groups line, or the sign-out redirect
    carrying the ID token, plus everything else; a power of two, never below NGINX's default."""
    need = session(shape, store, name).response_headers()
    return max(NGINX_DEFAULT_PROXY_BUFFER_BYTES, 1 << (need - 1).bit_length())
