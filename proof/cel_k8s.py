"""The Kubernetes CEL library functions that cel-python 0.5 lacks, as cel-python extension functions.

The API server evaluates ``x-kubernetes-validations`` with cel-go plus Kubernetes' own libraries
(kubernetes/kubernetes ``staging/src/k8s.io/apiserver/pkg/cel/library``: ``lists.go``,
``regex.go``, ``urls.go``, ``quantity.go``, ``ip.go``, ``cidr.go``) and cel-go's strings extension
(``ext/strings.go``, version 2 for Kubernetes >= 1.30). cel-python implements the CEL standard
library only. Member calls (``s.lowerAscii()``) reach these as ``f(s)``.

What is not here (and so makes a rule *unevaluable*, see :mod:`proof.apiserver`): the ``format``
library (``format.dns1123Label().validate(x)``: cel-python cannot call a function on a package
name), the ``authz`` library (needs a request), the optional-types syntax (``a.?b``, cel-python's
parser rejects it) and ``sets``.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from decimal import Decimal
from typing import Any

from celpy import celtypes

_S = celtypes.StringType
_I = celtypes.IntType


# -- strings (cel-go ext/strings.go) ---------------------------------------------------------------


def _index_of(target: Any, item: Any, start: Any = None) -> Any:
    if isinstance(target, celtypes.ListType):  # lists.go indexOf
        return _I(next((i for i, v in enumerate(target) if v == item), -1))
    return _I(str(target).find(str(item), int(start or 0)))


def _last_index_of(target: Any, item: Any) -> Any:
    if isinstance(target, celtypes.ListType):
        found = [i for i, v in enumerate(target) if v == item]
        return _I(found[-1] if found else -1)
    return _I(str(target).rfind(str(item)))


def _split(s: Any, sep: Any, limit: Any = None) -> Any:
    if limit is not None and int(limit) == 0:
        return celtypes.ListType([])
    cut = -1 if limit is None or int(limit) < 0 else int(limit) - 1
    return celtypes.ListType([_S(p) for p in str(s).split(str(sep), cut)])


def _substring(s: Any, start: Any, end: Any = None) -> Any:
    text = str(s)
    stop = len(text) if end is None else int(end)
    if not 0 <= int(start) <= stop <= len(text):
        raise ValueError(f"substring({start}, {end}) out of range for length {len(text)}")
    return _S(text[int(start) : stop])


def _join(items: Any, sep: Any = "") -> Any:
    return _S(str(sep).join(str(i) for i in items))


# -- lists (lists.go) --------------------------------------------------------------------------------


def _is_sorted(items: Any) -> Any:
    return celtypes.BoolType(all(a <= b for a, b in zip(items, list(items)[1:], strict=False)))


def _sum(items: Any) -> Any:
    total: Any = _I(0)
    for i, item in enumerate(items):
        total = item if i == 0 else total + item
    return total


# -- regex (regex.go) ------------------------------------------------------------------------------


def _find(s: Any, pattern: Any) -> Any:
    match = re.search(str(pattern), str(s))
    return _S(match.group(0) if match else "")


def _find_all(s: Any, pattern: Any, limit: Any = None) -> Any:
    found = [m.group(0) for m in re.finditer(str(pattern), str(s))]
    return celtypes.ListType([_S(f) for f in (found if limit is None or int(limit) < 0 else found[: int(limit)])])


# -- urls (urls.go: Go's url.Parse, absolute URLs or absolute paths only) --------------------------------


class URL(celtypes.StringType):
    """A parsed URL value (``url(s)``)."""


def _is_url(s: Any) -> Any:
    try:
        _parse_url(s)
    except ValueError:
        return celtypes.BoolType(False)
    return celtypes.BoolType(True)


def _parse_url(s: Any) -> urllib.parse.SplitResult:
    text = str(s)
    parts = urllib.parse.urlsplit(text)
    if not (parts.scheme or text.startswith("/")) or any(c in text for c in " \t\n"):
        raise ValueError(f"URL parse error during conversion from string: {text!r}")
    return parts


def _url(s: Any) -> Any:
    _parse_url(s)
    return URL(str(s))


def _hostname(u: Any) -> Any:
    return _S(_parse_url(u).hostname or "")


def _host(u: Any) -> Any:
    return _S(_parse_url(u).netloc.rsplit("@", 1)[-1])


def _port(u: Any) -> Any:
    port = _parse_url(u).port
    return _S("" if port is None else str(port))


# -- quantity (quantity.go: resource.Quantity) -----------------------------------------------------------

_SUFFIX = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}  # fmt: skip
_QUANTITY = re.compile(
    r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$"
)


class Quantity(celtypes.StringType):
    """A Kubernetes resource quantity; ``value`` is its exact decimal amount."""

    @property
    def value(self) -> Decimal:
        match = _QUANTITY.match(str(self))
        if not match:
            raise ValueError(f"quantities must match the regular expression {_QUANTITY.pattern}: {self!s}")
        number, exponent, suffix = match.groups()
        return Decimal(number + (exponent or "")) * Decimal(_SUFFIX[suffix or ""])


def _quantity(s: Any) -> Any:
    q = Quantity(str(s))
    _ = q.value
    return q


def _is_quantity(s: Any) -> Any:
    return celtypes.BoolType(bool(_QUANTITY.match(str(s))))


def _compare(a: Any, b: Any) -> Any:
    x, y = _quantity(a).value, _quantity(b).value
    return _I((x > y) - (x < y))


# -- ip / cidr (ip.go, cidr.go: canonical forms only, no IPv4-mapped IPv6) ------------------------------------


def _ip(s: Any) -> Any:
    addr = ipaddress.ip_address(str(s))
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        raise ValueError(f"IPv4-mapped IPv6 address {s!s} is not allowed")
    return _S(str(s))


def _is_ip(s: Any) -> Any:
    try:
        _ip(s)
    except ValueError:
        return celtypes.BoolType(False)
    return celtypes.BoolType("%" not in str(s))


def _cidr(s: Any) -> Any:
    ipaddress.ip_network(str(s), strict=False)
    return _S(str(s))


def _is_cidr(s: Any) -> Any:
    try:
        _cidr(s)
    except ValueError:
        return celtypes.BoolType(False)
    return celtypes.BoolType(True)


def _contains_ip(cidr: Any, ip: Any) -> Any:
    return celtypes.BoolType(ipaddress.ip_address(str(ip)) in ipaddress.ip_network(str(cidr), strict=False))


def _family(x: Any) -> Any:
    text = str(x).split("/", 1)[0]
    return _I(ipaddress.ip_address(text).version)


#: name -> implementation, for ``Environment.program(ast, functions=FUNCTIONS)``.
FUNCTIONS: dict[str, Any] = {
    # strings
    "charAt": lambda s, i: _S(str(s)[int(i)] if int(i) < len(str(s)) else ""),
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "lowerAscii": lambda s: _S(str(s).lower()),
    "upperAscii": lambda s: _S(str(s).upper()),
    "replace": lambda s, a, b, n=None: _S(str(s).replace(str(a), str(b), -1 if n is None else int(n))),
    "split": _split,
    "substring": _substring,
    "trim": lambda s: _S(str(s).strip()),
    "join": _join,
    # lists
    "isSorted": _is_sorted,
    "sum": _sum,
    "min": lambda items: min(items),
    "max": lambda items: max(items),
    # regex
    "find": _find,
    "findAll": _find_all,
    # urls
    "url": _url,
    "isURL": _is_url,
    "getScheme": lambda u: _S(_parse_url(u).scheme),
    "getHost": _host,
    "getHostname": _hostname,
    "getPort": _port,
    "getEscapedPath": lambda u: _S(_parse_url(u).path),
    "getQuery": lambda u: celtypes.MapType(
        {_S(k): celtypes.ListType([_S(x) for x in v]) for k, v in urllib.parse.parse_qs(_parse_url(u).query).items()}
    ),
    # quantity
    "quantity": _quantity,
    "isQuantity": _is_quantity,
    "compareTo": _compare,
    "isGreaterThan": lambda a, b: celtypes.BoolType(_compare(a, b) > 0),
    "isLessThan": lambda a, b: celtypes.BoolType(_compare(a, b) < 0),
    "asInteger": lambda q: _I(int(_quantity(q).value)),
    "asApproximateFloat": lambda q: celtypes.DoubleType(float(_quantity(q).value)),
    "isInteger": lambda q: celtypes.BoolType(_quantity(q).value == int(_quantity(q).value)),
    "sign": lambda q: _I((_quantity(q).value > 0) - (_quantity(q).value < 0)),
    # ip / cidr
    "ip": _ip,
    "isIP": _is_ip,
    "cidr": _cidr,
    "isCIDR": _is_cidr,
    "containsIP": _contains_ip,
    "family": _family,
    "prefixLength": lambda c: _I(ipaddress.ip_network(str(c), strict=False).prefixlen),
}
