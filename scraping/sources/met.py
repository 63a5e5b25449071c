"""The Met Collection API: a search gives object IDs, each object's record gives its image.

``GET {api}/search?hasImages=true&isPublicDomain=true&q=Q`` answers ``{"total": N,
"objectIDs": [...] | null}`` in one response (no paging); ``GET {api}/objects/{id}`` answers the
record (``isPublicDomain``, ``primaryImage``, ``primaryImageSmall``, ``title``,
``artistDisplayName``, ``objectDate``, ``objectURL``). The Met asks for at most 80 requests per
second.
"""

from __future__ import annotations

from urllib.parse import urlencode

from scraping.sources.base import Found, Listing, Page, Source, SourceError, field, text_or_none


class MetSource(Source):
    name = "met"

    def start(self) -> tuple[tuple[str, str], ...]:
        params = {"hasImages": "true", "isPublicDomain": "true", "q": self.settings.query}
        return (("search", f"{self._api}/search?{urlencode(params)}"),)

    @property
    def _api(self) -> str:
        return self.settings.met.api_url.rstrip("/")

    def identity(self) -> dict:
        return {"query": self.settings.query, "api": self.settings.met.api_url}

    def parse_listing(self, page: Page) -> Listing:
        data = page.json()
        ids = data.get("objectIDs") if isinstance(data, dict) else None
        if ids is None:
            if not isinstance(data, dict) or "total" not in data:
                raise SourceError("response has no total/objectIDs")
            ids = []  # the Met answers objectIDs: null when nothing matches
        items = tuple(Found(item_id=str(i), detail_url=f"{self._api}/objects/{i}",
                            page_url=f"https://www.metmuseum.org/art/collection/search/{i}")
                      for i in ids)
        return Listing(items=items, total=data.get("total"))

    def parse_detail(self, found: Found, page: Page) -> Found:
        record = page.json()
        field(record, "objectID")
        found = found.but(title=text_or_none(record.get("title")),
                          artist=text_or_none(record.get("artistDisplayName")),
                          date=text_or_none(record.get("objectDate")),
                          page_url=record.get("objectURL") or found.page_url)
        if not record.get("isPublicDomain"):
            return found.but(licence="in copyright", skip=("licence", "not public domain at the Met"))
        # The Met's Open Access images of public-domain works are CC0.
        found = found.but(licence="CC0")
        small = record.get("primaryImageSmall")
        image = small if self.settings.met.image == "small" and small else record.get("primaryImage")
        if not image:
            return found.but(skip=("no_image", "the record has no primaryImage"))
        return found.but(image_url=image)
