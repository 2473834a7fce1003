"""EIP-4361's ABNF rules that `siwe`'s regular-expression parser does not enforce (RFC 3986).

A statement of reserved / unreserved characters and spaces (no control or look-alike characters
for a wallet to display), a domain that is an RFC 3986 authority, and a URI and resources that are
RFC 3986 URIs: the expression lets a URI's path run across a line break, and pydantic's URL type
accepts IRIs and repeated fragments.
"""

from __future__ import annotations

import ipaddress
import re

import siwe

from services.gateway.errors import BadRequest

_STATEMENT = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;= ]+")
_AUTHORITY = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:%]*@)?"
                        r"(?P<host>\[[^\]]*\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_URI = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):(?P<hier>[^?#]*)"
                  r"(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?", re.DOTALL)
_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*")  # pchar and "/"
_QUERY = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*")  # pchar, "/" and "?"


def check_grammar(message: siwe.SiweMessage) -> None:
    if message.statement is not None and not _STATEMENT.fullmatch(message.statement):
        raise BadRequest("message statement may hold only RFC 3986 characters and spaces")
    if not _is_authority(message.domain):
        raise BadRequest("message domain is not an RFC 3986 authority")
    for uri in [message.uri, *(message.resources or [])]:
        if not _is_uri(uri):
            raise BadRequest("message URI and resources must be RFC 3986 URIs")


def _is_uri(text: str) -> bool:
    """RFC 3986 `URI`: scheme, hierarchical part (authority and path), query, fragment."""
    match = _URI.fullmatch(text)
    if match is None or _BAD_PERCENT.search(text):
        return False
    hier = match["hier"]
    if hier.startswith("//"):
        authority, _, path = hier[2:].partition("/")
        if not _is_authority(authority):
            return False
        hier = "/" + path if path or hier[2:].endswith("/") else ""
    return bool(_PATH.fullmatch(hier) and _QUERY.fullmatch(match["query"] or "")
                and _QUERY.fullmatch(match["fragment"] or ""))


def _is_authority(domain: str) -> bool:
    match = _AUTHORITY.fullmatch(domain)
    if match is None or _BAD_PERCENT.search(domain):
        return False
    host = match["host"]
    try:
        if host.startswith("["):
            ipaddress.IPv6Address(host[1:-1])
        elif re.fullmatch(r"[0-9.]+", host):  # digits and dots: an IPv4 address or nothing
            ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True
