"""The sources `gansmania scrape --source NAME` knows, as an explicit registry."""

from __future__ import annotations

from scraping.settings import ScrapeSettings
from scraping.sources.aic import AicSource
from scraping.sources.base import Found, Listing, Page, Source, SourceError
from scraping.sources.cleveland import ClevelandSource
from scraping.sources.gallery import GallerySource
from scraping.sources.met import MetSource
from scraping.sources.wikimedia import WikimediaSource

SOURCES: dict[str, type[Source]] = {
    "aic": AicSource,
    "met": MetSource,
    "cleveland": ClevelandSource,
    "wikimedia": WikimediaSource,
    "gallery": GallerySource,
}

__all__ = ["SOURCES", "Found", "Listing", "Page", "Source", "SourceError", "make_source"]


def make_source(settings: ScrapeSettings) -> Source:
    return SOURCES[settings.source](settings)
