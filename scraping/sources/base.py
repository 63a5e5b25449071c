"""What every source is: where its listings start, and how its pages turn into items.

A source only parses; it never fetches. The crawler fetches every page politely (robots.txt, rate
limits, retries) and hands the bytes to the source, so every source gets the same robustness and
the parsing can be tested on stored responses.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any, ClassVar
from urllib.parse import urljoin

from scraping.settings import ScrapeSettings


class SourceError(Exception):
    """A response that does not have the shape the source expects (the API changed, or an
    error page came back with status 200)."""


@dataclass(frozen=True)
class Page:
    """A fetched page: the URL asked for, the URL it came from after redirects, and the bytes."""

    url: str
    final_url: str
    content_type: str
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise SourceError(f"{self.final_url}: not JSON ({self.content_type or 'no type'}): "
                              f"{exc}") from None

    def soup(self):
        from bs4 import BeautifulSoup

        return BeautifulSoup(self.body, "html.parser")

    def absolute(self, link: str) -> str:
        return urljoin(self.final_url, link)


@dataclass(frozen=True)
class Found:
    """An item a listing names. What the listing does not say stays None and a detail page
    (``detail_url``) fills it in; ``skip`` = (status, reason) when it is already unusable."""

    item_id: str
    title: str | None = None
    artist: str | None = None
    date: str | None = None
    licence: str | None = None
    page_url: str | None = None
    image_url: str | None = None
    detail_url: str | None = None
    skip: tuple[str, str] | None = None

    def but(self, **changes: Any) -> Found:
        return replace(self, **changes)


@dataclass(frozen=True)
class Listing:
    """One listing page: its items, its next page, and further listings it names.

    ``more`` are listings at the same depth (a gallery's next pages, deduplicated by key so a
    cycle of next links ends); ``children`` are one level deeper (subcategories).
    """

    items: tuple[Found, ...]
    next_url: str | None = None
    more: tuple[tuple[str, str], ...] = ()
    children: tuple[tuple[str, str], ...] = ()
    total: int | None = None


class Source(ABC):
    """A collection: its first listings, its listing parser, and its detail parser."""

    name: ClassVar[str]
    # How many levels of ``Listing.children`` are followed.
    max_depth: int = 0

    def __init__(self, settings: ScrapeSettings) -> None:
        self.settings = settings

    @abstractmethod
    def start(self) -> tuple[tuple[str, str], ...]:
        """(key, url) of the listings a crawl starts from."""

    @abstractmethod
    def parse_listing(self, page: Page) -> Listing:
        """The items (and further pages) of one listing page."""

    def parse_detail(self, found: Found, page: Page) -> Found:
        """``found`` completed from its detail page (only sources that set detail_url)."""
        raise NotImplementedError(f"{self.name} has no detail pages")

    def identity(self) -> dict[str, Any]:
        """What makes two crawls the same crawl (their listings can share cursors)."""
        return {"query": self.settings.query}

    def headers(self) -> dict[str, str]:
        """Extra request headers this source's hosts ask for."""
        return {}


def field(data: Any, *path: str | int, kind: type | tuple[type, ...] = object) -> Any:
    """``data[path...]`` checked to be a ``kind``; a missing or mistyped field is a SourceError
    that names the path, so an API change shows up as one clear line."""
    value = data
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            raise SourceError(f"response has no {'.'.join(map(str, path))}") from None
    if not isinstance(value, kind):
        raise SourceError(f"response field {'.'.join(map(str, path))} is "
                          f"{type(value).__name__}, expected {kind}")
    return value


def text_or_none(value: Any) -> str | None:
    """A metadata value as a clean string, None when empty."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None
