"""Value types of single config keys: declarative where pydantic has the type, a small rule otherwise.

Each type is a ``str`` for the layers above (they pass the value on to Pulumi inputs unchanged) with
its validation attached (``Annotated[str, AfterValidator(...)]``). A failed check raises
``ValueError``; the loader turns it into a problem naming the key path and the value given.
"""

from __future__ import annotations

import re
import unicodedata
from ipaddress import IPv4Network
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, EmailStr, HttpUrl, TypeAdapter, ValidationError

_CIDR = TypeAdapter(IPv4Network)
_URL = TypeAdapter(HttpUrl)
_EMAIL = TypeAdapter(EmailStr)

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

#: Image reference grammar of github.com/distribution/reference (reference.go): optional registry
#: host[:port], lower-case path components, then ``:tag``, ``@digest`` or both.
_REGISTRY = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d+)?/)"
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
IMAGE = re.compile(
    rf"^(?P<repository>{_REGISTRY}?{_PATH})(?::(?P<tag>[\w][\w.-]{{0,127}}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}))?$"
)

#: Characters IAM reads in a resource or condition value: `*` and `?` are wildcards and `${...}` is a
#: policy variable (IAM User Guide, "IAM JSON policy elements: Resource" and "policy variables").
IAM_SPECIAL = re.compile(r"[*?]|\$\{")


def ipv4_cidr(value: str) -> str:
    """An IPv4 network in CIDR form with no host bits set (``10.0.0.0/16``, not ``10.0.0.1/16``)."""
    try:
        _CIDR.validate_python(value)
    except ValidationError as err:
        reason = err.errors()[0]["msg"].removeprefix("Value error, ")
        raise ValueError(f"not a valid IPv4 CIDR ({reason})") from None
    return value


def hostname(value: str) -> str:
    """A lower-case DNS name with at least two labels."""
    if not _HOSTNAME.match(value):
        raise ValueError("not a lower-case DNS name")
    return value


def email(value: str) -> str:
    """An email address (syntax only: email-validator without the DNS deliverability check)."""
    try:
        _EMAIL.validate_python(value)
    except ValidationError:
        raise ValueError("not an email address") from None
    return value


def _credentials_problem(key_hint: str) -> str:
    return (
        "credentials never belong in a plain value (it lands in ConfigMaps, Helm values and the state "
        f"in clear text): remove them from the URL; {key_hint}"
    )


def https_url(value: str) -> str:
    """An ``https://`` URL with a host, no credentials, query or fragment (an OIDC issuer, say)."""
    try:
        _URL.validate_python(value)
    except ValidationError:
        raise ValueError("not a URL") from None
    parts = urlsplit(value)
    if parts.username or parts.password:
        raise ValueError(_credentials_problem("keep secrets in `secure:` values (`pulumi config set --secret`)"))
    if parts.scheme != "https" or parts.query or parts.fragment or " " in value:
        raise ValueError("must be an https:// URL without query or fragment")
    return value


def git_url(value: str) -> str:
    """A git remote: ``https://host/path``, ``ssh://[git@]host[:port]/path`` or ``git@host:path``.

    A user name alone is how SSH remotes name the account (``git@``) and is fine; a password or a
    token (``https://user:TOKEN@...``, or any user name in an https URL, which is how tokens are
    passed) is refused. Empty: no repository.
    """
    if not value:
        return value
    if value.startswith("git@"):
        if not re.match(r"^git@[A-Za-z0-9.-]+:[^\s]+$", value):
            raise ValueError("not a git@host:path remote")
        return value
    if re.search(r'[{}<>"\\^`|]', value):
        raise ValueError("not a URL (characters such as { } < > must be percent-encoded)")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "ssh") or not parts.hostname or " " in value:
        raise ValueError("must be an https://, ssh:// or git@ URL")
    if parts.password or (parts.scheme == "https" and parts.username):
        raise ValueError(
            _credentials_problem(
                "for a private repository use an ssh:// or git@ URL and set its key with "
                "`pulumi config set --secret airflow-mesh:dagsGitSshKey`"
            )
        )
    return value


def git_ref(value: str) -> str:
    """A branch name: the readable subset of ``git check-ref-format`` (letters, digits, ``._/-``)."""
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", value) or ".." in value or value.startswith(("-", "/", ".")):
        raise ValueError("not a branch name (letters, digits, . _ / -; no '..', no leading - / .)")
    if value.endswith(("/", ".", ".lock")):
        raise ValueError("not a branch name (must not end in /, . or .lock)")
    return value


def no_template(value: object) -> object:
    """Refuse ``{{``/``}}`` in a plain string (or a list of them).

    Helm evaluates some chart values as templates (``tpl``): the Airflow chart's ``podTemplate`` and
    ``config``, oauth2-proxy's ``config.configFile`` (charts' ``templates/``); settings reach all three.
    """
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, str) and ("{{" in item or "}}" in item):
            raise ValueError("'{{' and '}}' are not allowed: Helm would evaluate them as a template")
    return value


def image(value: str) -> str:
    """A container image pinned by tag, by digest or both (``repo:tag``, ``repo@sha256:...``). Empty: none."""
    if not value:
        return value
    match = IMAGE.match(value)
    if not match or not (match["tag"] or match["digest"]):
        raise ValueError("must be repository:tag, repository@sha256:<64 hex> or repository:tag@sha256:<64 hex>")
    return value


def printable(value: str, limit: int = 256) -> str:
    """Text without control characters (newlines, NUL, bidi overrides), at most ``limit`` characters."""
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
        raise ValueError("contains control characters")
    if len(value) > limit:
        raise ValueError(f"longer than {limit} characters")
    return value


def role_name(value: str) -> str:
    """An Airflow role name this program creates: letters, digits, space, ``_ . -``; up to 64."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9 _.-]{0,63}", value):
        raise ValueError("not a role name (a letter, then letters, digits, space, _ . -; up to 64)")
    return value


def claim_name(value: str) -> str:
    """A JWT claim name: letters, digits and ``_ : . / -`` (namespaced claims are URLs)."""
    if not re.fullmatch(r"[A-Za-z0-9_:./-]{1,128}", value):
        raise ValueError("not a token claim name (letters, digits, _ : . / -)")
    return value


def s3_prefix(value: str) -> str:
    """A literal S3 key prefix: it is placed into IAM resources and conditions as it is."""
    printable(value, limit=1024)  # S3 keys are at most 1,024 bytes; control characters do not survive XML
    if value.startswith("/"):
        raise ValueError("give a key prefix without a leading /")
    special = IAM_SPECIAL.search(value)
    if special:
        raise ValueError(
            f"{special.group()!r} means something to IAM (`*` and `?` are wildcards, `${{...}}` is a policy "
            "variable); give a literal key prefix: the program appends the one wildcard it needs"
        )
    return value


Ipv4Cidr = Annotated[str, AfterValidator(ipv4_cidr)]
Hostname = Annotated[str, AfterValidator(hostname)]
Email = Annotated[str, AfterValidator(email)]
HttpsUrl = Annotated[str, AfterValidator(https_url)]
GitUrl = Annotated[str, AfterValidator(git_url)]
GitRef = Annotated[str, AfterValidator(git_ref)]
Image = Annotated[str, AfterValidator(image)]
S3Prefix = Annotated[str, AfterValidator(s3_prefix)]
#: IdP group names and client ids come from the identity provider: any printable text.
Printable = Annotated[str, AfterValidator(printable)]
RoleName = Annotated[str, AfterValidator(role_name)]
ClaimName = Annotated[str, AfterValidator(claim_name)]


def image_parts(value: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of a valid :data:`Image`."""
    match = IMAGE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not an image reference")
    return match["repository"], match["tag"], match["digest"]
