"""Field rules of the contract that are not plain lengths: e-mail syntax and canonical UUIDs."""

from __future__ import annotations

import re
from uuid import UUID

_CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
# Local part and domain labels as RFC 5322 "dot-atom" text; no quoted local parts, which no
# school roster uses and which would make the lower-casing rule ambiguous.
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(
    r"[A-Za-z0-9\u00a1-\uffff]([A-Za-z0-9\u00a1-\uffff-]{0,61}[A-Za-z0-9\u00a1-\uffff])?"
)

MAX_EMAIL_LENGTH = 255


def parse_canonical_uuid(value: str) -> UUID:
    """A UUID written in canonical 8-4-4-4-12 form (either case); anything else is rejected."""
    if len(value) != 36 or not _CANONICAL_UUID.fullmatch(value):
        raise ValueError("must be a UUID in canonical 8-4-4-4-12 form")
    return UUID(value)


def normalize_email(value: str) -> str:
    """Trim and lower-case an e-mail address after checking its syntax.

    Special-use domains (``.test``, ``.local``) are accepted: the contract allows either, and
    rejecting them would break schools' test rosters for no safety gain (no mail is sent)."""
    email = value.strip().lower()
    if not email:
        raise ValueError("must not be empty")
    if len(email) > MAX_EMAIL_LENGTH:
        raise ValueError(f"must be at most {MAX_EMAIL_LENGTH} characters")
    if any(ch.isspace() for ch in email):
        raise ValueError("must not contain whitespace")
    local, sep, domain = email.partition("@")
    if not sep or "@" in domain:
        raise ValueError("must contain exactly one '@'")
    if not local or not domain:
        raise ValueError("must have a local part and a domain")
    if len(local) > 64 or not _LOCAL_PART.fullmatch(local):
        raise ValueError("has an invalid local part")
    labels = domain.split(".")
    if len(labels) < 2:
        raise ValueError("domain must contain a dot")
    if not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        raise ValueError("has an invalid domain")
    return email
