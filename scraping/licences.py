"""Licence strings as the sources write them, reduced to a family the filter can compare.

Sources spell licences many ways ("CC BY-SA 4.0", "cc-by-sa-4.0", "Public domain", "PD-old",
"CC0 1.0"); the version never matters for what we may do with an image, the family does.
"""

from __future__ import annotations

import re

FAMILIES = ("pd", "cc0", "cc-by", "cc-by-sa", "cc-by-nc", "cc-by-nc-sa", "cc-by-nd",
            "cc-by-nc-nd")

_CC = re.compile(r"\b(?:cc|creative\s*commons)[\s\-_]*(by(?:[\s\-_]*(?:nc|sa|nd))*)\b", re.I)
_PUBLIC_DOMAIN = re.compile(r"public[\s\-_]*domain|^pd\b|\bpd[\s\-_]", re.I)
_CC0 = re.compile(r"\bcc[\s\-_]*0\b|\bcc[\s\-_]*zero\b", re.I)


def licence_family(text: str | None) -> str:
    """The family of a licence string: one of FAMILIES, or "other" / "unknown"."""
    if not text or not text.strip():
        return "unknown"
    if _CC0.search(text):
        return "cc0"
    cc = _CC.search(text)
    if cc:
        parts = set(re.split(r"[\s\-_]+", cc.group(1).lower())[1:])
        # "by-sa-nc" and "by-nc-sa" name the same licence; write them in the canonical order.
        family = "-".join(["cc", "by", *(p for p in ("nc", "sa", "nd") if p in parts)])
        return family if family in FAMILIES else "other"
    if _PUBLIC_DOMAIN.search(text.strip()):
        return "pd"
    return "other"


def licence_allowed(text: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether ``text`` belongs to one of the ``allowed`` families ("any" allows everything)."""
    return "any" in allowed or licence_family(text) in allowed
