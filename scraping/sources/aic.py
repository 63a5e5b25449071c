"""Art Institute of Chicago: the public API's artwork search, public-domain works, IIIF images.

``GET {api}/artworks/search?q=Q&query[term][is_public_domain]=true&fields=...&limit=L&page=P``
answers ``{"pagination": {"total", "limit", "offset", "total_pages", "current_page"},
"data": [...], "config": {"iiif_url"}}``; each image is
``{iiif_url}/{image_id}/full/{width},/0/default.jpg``. The search index answers at most 10,000
results per query (Elasticsearch's window), so paging stops there.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from scraping.sources.base import Found, Listing, Page, Source, field, text_or_none

log = logging.getLogger(__name__)

FIELDS = "id,title,artist_title,artist_display,date_display,image_id,is_public_domain"
DEFAULT_IIIF = "https://www.artic.edu/iiif/2"
SEARCH_WINDOW = 10_000


class AicSource(Source):
    name = "aic"

    def start(self) -> tuple[tuple[str, str], ...]:
        return (("search", self._search_url(page=1)),)

    def identity(self) -> dict:
        aic = self.settings.aic
        return {"query": self.settings.query, "api": aic.api_url, "page_size": aic.page_size}

    def headers(self) -> dict[str, str]:
        # AIC asks API clients to name themselves in this header, with a way to reach them.
        return {"AIC-User-Agent": f"gansmania ({self.settings.crawl.contact})"}

    def _search_url(self, *, page: int) -> str:
        aic = self.settings.aic
        params = {"q": self.settings.query, "query[term][is_public_domain]": "true",
                  "fields": FIELDS, "limit": aic.page_size, "page": page}
        return f"{aic.api_url.rstrip('/')}/artworks/search?{urlencode(params)}"

    def parse_listing(self, page: Page) -> Listing:
        aic = self.settings.aic
        data = page.json()
        pagination = field(data, "pagination", kind=dict)
        current = int(field(pagination, "current_page", kind=int))
        total_pages = int(field(pagination, "total_pages", kind=int))
        iiif = (aic.iiif_url or (data.get("config") or {}).get("iiif_url") or DEFAULT_IIIF)
        items = tuple(self._found(art, iiif.rstrip("/")) for art in field(data, "data", kind=list))
        next_url = None
        if current < total_pages:
            if current * aic.page_size >= SEARCH_WINDOW:
                log.warning("aic: the search stops at %d results; narrow --query for more",
                            SEARCH_WINDOW)
            else:
                next_url = self._search_url(page=current + 1)
        return Listing(items=items, next_url=next_url, total=pagination.get("total"))

    def _found(self, art: dict, iiif: str) -> Found:
        item_id = str(field(art, "id"))
        artist = art.get("artist_title") or (art.get("artist_display") or "").split("\n")[0]
        found = Found(item_id=item_id, title=text_or_none(art.get("title")),
                      artist=text_or_none(artist), date=text_or_none(art.get("date_display")),
                      page_url=f"{self.settings.aic.website_url.rstrip('/')}/artworks/{item_id}")
        if not art.get("is_public_domain"):
            return found.but(licence="in copyright", skip=("licence", "not public domain at AIC"))
        # AIC releases the images of its public-domain works under CC0.
        found = found.but(licence="CC0")
        if not art.get("image_id"):
            return found.but(skip=("no_image", "the record has no image_id"))
        width = self.settings.aic.image_width
        return found.but(image_url=f"{iiif}/{art['image_id']}/full/{width},/0/default.jpg")
