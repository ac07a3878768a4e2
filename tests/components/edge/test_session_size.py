"""Journey 3 (big sessions): the session size model against oauth2-proxy's real encoding, the settings
rule that sends a session too big for cookies to Redis, and NGINX buffers that hold what is left.

The real encoding is oauth2-proxy 7.15.3's, step by step (pkg/apis/sessions/session_state.go
``EncodeSessionState``, pkg/encryption/cipher.go ``cfbCipher.Encrypt``, utils.go ``SignedValue``,
pkg/sessions/cookie/session_store.go ``splitCookie``), with the same libraries' formats: MessagePack,
an LZ4 frame (no content size, content checksum: pierrec/lz4 v4's defaults) and AES-256-CFB.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import os
import random

import lz4.frame
import msgpack
import pytest
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from components.edge import oauth2_proxy, routes
from components.settings import SettingsError, session_rules, session_size
from components.settings.session_size import SessionShape
from tests import stacks

NAME = oauth2_proxy.COOKIE_NAME
BEYOND = SessionShape(groups=30, group_name_bytes=40, token_bytes=900)
POLICY = "kubernetes:gateway.nginx.org/v1alpha1:ProxySettingsPolicy"


def _text(rng: random.Random, n: int) -> str:
    """``n`` characters of base64url: what tokens (signed, base64 JSON) look like to LZ4."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(rng.choice(alphabet) for _ in range(n))


def real_cookie_value(shape: SessionShape, seed: int = 0) -> str:
    """A session of ``shape`` encoded the way oauth2-proxy encodes it, as the signed cookie value."""
    rng = random.Random(seed)
    now = datetime.datetime.now(datetime.UTC)
    tokens = session_size.token_sizes(shape)
    state = {
        "ca": now,
        "eo": now + datetime.timedelta(hours=1),
        "at": _text(rng, tokens["at"]),
        "it": _text(rng, tokens["it"]),
        "rt": _text(rng, tokens["rt"]),
        "n": os.urandom(session_size.NONCE_BYTES),
        "e": _text(rng, session_size.IDENTITY_FIELD_BYTES),
        "u": _text(rng, session_size.IDENTITY_FIELD_BYTES),
        "g": [_text(rng, shape.group_name_bytes) for _ in range(shape.groups)],
        "pu": _text(rng, session_size.IDENTITY_FIELD_BYTES),
    }
    packed = msgpack.packb(state, datetime=True)
    framed = lz4.frame.compress(packed, block_size=lz4.frame.BLOCKSIZE_MAX64KB, content_checksum=True, store_size=False)
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(os.urandom(32)), CFB(iv)).encryptor()
    encoded = base64.urlsafe_b64encode(iv + encryptor.update(framed) + encryptor.finalize()).decode()
    stamp = str(int(now.timestamp()))
    signature = hmac.new(b"cookie-secret", (NAME + encoded + stamp).encode(), hashlib.sha256).digest()
    return f"{encoded}|{stamp}|{base64.urlsafe_b64encode(signature).decode()}"


def go_split(value: str) -> list[str]:
    """session_store.go ``splitCookie`` on the real value: the ``name=value`` pairs the browser stores."""
    attrs = session_size.COOKIE_ATTRIBUTES
    if len(NAME) + 1 + len(value) + len(attrs) < session_size.MAX_COOKIE_LENGTH:
        return [f"{NAME}={value}"]
    out: list[str] = []
    while value:
        name = f"{NAME}_{len(out)}"
        room = session_size.MAX_COOKIE_LENGTH - len(name) - 1 - len(attrs)
        out.append(f"{name}={value[:room]}")
        value = value[room:]
    return out


@pytest.mark.parametrize("groups", [0, 5, 10, 30, 100])
def test_model_is_an_upper_bound_of_the_real_encoding_and_close_to_it(groups):
    shape = SessionShape(groups=groups, group_name_bytes=40, token_bytes=900)
    real = go_split(real_cookie_value(shape, seed=groups))
    model = session_size.cookie_session(shape, NAME)
    real_line = len("Cookie: ") + len("; ".join(real)) + 2
    assert len(real) == len(model.cookies)
    assert 0 <= model.cookie_header - real_line <= 32, (model.cookie_header, real_line)


def test_the_accepted_worst_case_fits_and_one_beyond_does_not():
    accepted = session_size.DEFAULT_SHAPE
    assert session_size.fits_in_cookies(accepted, NAME)
    for beyond in (
        SessionShape(accepted.groups + 1, accepted.group_name_bytes + 8, accepted.token_bytes),
        SessionShape(accepted.groups, accepted.group_name_bytes, accepted.token_bytes + 300),
        BEYOND,
    ):
        assert not session_size.fits_in_cookies(beyond, NAME), beyond
    # measured with the real encoding, not only the model
    real = go_split(real_cookie_value(accepted))
    assert len("Cookie: ") + len("; ".join(real)) + 2 <= session_size.cookie_room()


def test_settings_default_is_the_model_default_and_cookie_names_agree():
    s = stacks.settings_for("dev")
    assert session_rules.session_shape(s) == session_size.DEFAULT_SHAPE
    assert session_rules.COOKIE_NAME == oauth2_proxy.COOKIE_NAME


def test_a_session_too_big_for_cookies_needs_redis_before_any_resource():
    beyond = {
        "oauth2ProxySessionMaxGroups": BEYOND.groups,
        "oauth2ProxySessionMaxGroupNameBytes": BEYOND.group_name_bytes,
    }
    with pytest.raises(SettingsError) as caught:
        stacks.run("dev", beyond)
    message = str(caught.value)
    assert "stacks/Pulumi.dev.yaml: airflow-mesh:oauth2ProxySessionStore: 'cookie' cannot carry" in message
    assert "oauth2ProxySessionMaxGroups=30" in message and "set it to 'redis'" in message
    assert caught.value.registered_resources == 0
    redis = stacks.settings_for("dev", {**beyond, "oauth2ProxySessionStore": "redis"})
    assert redis.oauth2_proxy_session_store == "redis"  # the same worst case is fine server-side


def test_redis_carries_the_big_session_with_a_ticket_and_buffers_for_its_headers():
    """The recorded policy of a Redis stack with this session: tests/journeys/test_sessions.py."""
    ticket = session_size.redis_ticket(BEYOND, NAME)
    assert len(ticket.cookies) == 1 and ticket.cookie_header < 300
    size = session_size.proxy_buffer_bytes(BEYOND, "redis", NAME)
    assert ticket.response_headers() <= size
    assert routes.buffering_problems(routes.proxy_buffering(size)) == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_callback_response_of_the_accepted_session_fits_nginx_buffer(plans, stack):
    """The login callback sends the whole session in Set-Cookie (nginx/nginx-gateway-fabric#4050)."""
    (policy,) = plans[stack].of_type(POLICY)
    buffering = policy["inputs"]["spec"]["buffering"]
    wire = session_size.cookie_session(session_size.DEFAULT_SHAPE, NAME)
    need = wire.response_headers()
    assert need > session_size.NGINX_DEFAULT_PROXY_BUFFER_BYTES, "NGINX's default would 502"
    assert routes.nginx_size(buffering["bufferSize"]) >= need
    assert routes.buffering_problems(buffering) == []


def test_buffering_check_catches_what_nginx_refuses():
    """Raising only proxy_buffer_size leaves the default busy size (2 x 16k) above 7 default 4k buffers."""
    assert routes.buffering_problems({"bufferSize": "16k"})
    assert routes.buffering_problems({"bufferSize": "16k", "buffers": {"number": 4, "size": "16k"}}) == []
    assert routes.buffering_problems({"buffers": {"number": 2, "size": "4k"}, "busyBuffersSize": "8k"})


def test_too_many_groups_are_refused_whatever_the_store():
    """oauth2-proxy sends the groups to Airflow on every request (X-Forwarded-Groups): Redis does not
    shrink that line."""
    with pytest.raises(SettingsError) as caught:
        stacks.run("dev", {"oauth2ProxySessionStore": "redis", "oauth2ProxySessionMaxGroups": 300})
    (problem,) = caught.value.problems
    assert problem[0] == "airflow-mesh:oauth2ProxySessionMaxGroups" and "12325-byte groups header" in problem[1]
    assert caught.value.registered_resources == 0


def test_sign_out_redirect_carries_the_id_token_and_fits_the_buffer():
    """``/oauth2/sign_out`` answers with the IdP's logout URL holding the ID token, groups and all."""
    wire = session_size.redis_ticket(BEYOND, NAME)
    assert wire.sign_out_headers > session_size.token_sizes(BEYOND)["it"]
    assert wire.response_headers() <= session_size.proxy_buffer_bytes(BEYOND, "redis", NAME)
    hundred = SessionShape(groups=100, group_name_bytes=60, token_bytes=900)
    assert session_size.redis_ticket(hundred, NAME).sign_out_headers > wire.set_cookie_headers + wire.groups_header
