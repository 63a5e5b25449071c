"""Cleveland Museum of Art Open Access API: CC0 works with images, paged by skip/limit.

``GET {api}/artworks/?q=Q&cc0=1&has_image=1&limit=L&skip=S`` answers ``{"info": {"total": N},
"data": [{"id", "title", "creation_date", "creators": [{"description"}], "url",
"share_license_status", "images": {"web" | "print" | "full": {"url", "width", "height"}}}]}``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from scraping.sources.base import Found, Listing, Page, Source, field, text_or_none


class ClevelandSource(Source):
    name = "cleveland"

    def start(self) -> tuple[tuple[str, str], ...]:
        return (("search", self._url(skip=0)),)

    def identity(self) -> dict:
        cma = self.settings.cleveland
        return {"query": self.settings.query, "api": cma.api_url, "page_size": cma.page_size}

    def _url(self, *, skip: int) -> str:
        params = {"q": self.settings.query, "cc0": 1, "has_image": 1,
                  "limit": self.settings.cleveland.page_size, "skip": skip}
        return f"{self.settings.cleveland.api_url.rstrip('/')}/artworks/?{urlencode(params)}"

    def parse_listing(self, page: Page) -> Listing:
        data = page.json()
        total = int(field(data, "info", "total", kind=int))
        works = field(data, "data", kind=list)
        skip = _skip_of(page.url)
        items = tuple(self._found(work) for work in works)
        done = not works or skip + len(works) >= total
        return Listing(items=items, next_url=None if done else self._url(skip=skip + len(works)),
                       total=total)

    def _found(self, work: dict) -> Found:
        creators = work.get("creators") or []
        artist = "; ".join(c.get("description", "") for c in creators if isinstance(c, dict))
        licence = work.get("share_license_status") or "unknown"
        found = Found(item_id=str(field(work, "id")), title=text_or_none(work.get("title")),
                      artist=text_or_none(artist), date=text_or_none(work.get("creation_date")),
                      licence=licence, page_url=work.get("url"))
        images = work.get("images") or {}
        rendition = images.get(self.settings.cleveland.image) or images.get("web") or {}
        if not rendition.get("url"):
            return found.but(skip=("no_image", "the record has no images"))
        return found.but(image_url=rendition["url"])


def _skip_of(url: str) -> int:
    from urllib.parse import parse_qs, urlsplit

    values = parse_qs(urlsplit(url).query).get("skip", ["0"])
    return int(values[0])
