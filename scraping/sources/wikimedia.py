"""Wikimedia Commons: the files of a category and its subcategories, each with its licence.

One MediaWiki query lists a category's members together with their image info:
``action=query&generator=categorymembers&gcmtitle=Category:X&gcmtype=file|subcat&prop=imageinfo
&iiprop=url|size|mime|extmetadata&formatversion=2`` answers ``{"query": {"pages": [{"ns",
"title", "imageinfo": [{"url", "thumburl", "descriptionurl", "mime", "extmetadata":
{"LicenseShortName": {"value"}, "Artist": {"value"}, ...}}]}]}, "continue": {...}}``. Paging
follows MediaWiki's rule: send every key of ``continue`` back with the original query.
Subcategories (namespace 14) become listings one level deeper; a category already walked is not
walked again, so cycles end.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from scraping.sources.base import Found, Listing, Page, Source, SourceError, field, text_or_none

FILE_NS, CATEGORY_NS = 6, 14
METADATA = "LicenseShortName|License|Artist|ObjectName|DateTimeOriginal"


def category_title(name: str) -> str:
    """``"abstract art"`` or ``"Category:Abstract_art"`` -> ``"Category:Abstract art"``."""
    name = name.strip().replace("_", " ")
    name = re.sub(r"^category:\s*", "", name, flags=re.I)
    return f"Category:{name[:1].upper()}{name[1:]}"


def strip_html(value: str | None) -> str | None:
    """Commons metadata values are HTML snippets (links, spans); keep their text."""
    if not value:
        return None
    from bs4 import BeautifulSoup

    return text_or_none(BeautifulSoup(value, "html.parser").get_text(" "))


class WikimediaSource(Source):
    name = "wikimedia"

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.max_depth = settings.wikimedia.depth

    def identity(self) -> dict:
        wm = self.settings.wikimedia
        return {"category": category_title(self.settings.query), "api": wm.api_url,
                "width": wm.image_width}

    def start(self) -> tuple[tuple[str, str], ...]:
        title = category_title(self.settings.query)
        return ((f"category:{title}", self._url(title)),)

    def _params(self, title: str) -> dict[str, str]:
        wm = self.settings.wikimedia
        params = {"action": "query", "format": "json", "formatversion": "2",
                  "generator": "categorymembers", "gcmtitle": title, "gcmtype": "file|subcat",
                  "gcmlimit": str(wm.page_size), "prop": "imageinfo",
                  "iiprop": "url|size|mime|extmetadata", "iiextmetadatafilter": METADATA}
        if wm.image_width:
            params["iiurlwidth"] = str(wm.image_width)
        return params

    def _url(self, title: str, cont: dict[str, str] | None = None) -> str:
        return f"{self.settings.wikimedia.api_url}?{urlencode({**self._params(title), **(cont or {})})}"

    def parse_listing(self, page: Page) -> Listing:
        data = page.json()
        if isinstance(data, dict) and "error" in data:
            error = data["error"]
            raise SourceError(f"MediaWiki error {error.get('code')}: {error.get('info')}")
        items, children = [], []
        for member in (data.get("query") or {}).get("pages") or []:
            ns, title = field(member, "ns", kind=int), field(member, "title", kind=str)
            if ns == CATEGORY_NS:
                children.append((f"category:{title}", self._url(title)))
            elif ns == FILE_NS and member.get("imageinfo"):
                # Without imageinfo the member comes again in a continued response.
                items.append(self._found(title, member["imageinfo"][0]))
        cont = data.get("continue")
        next_url = None
        if cont:
            asked = dict(parse_qsl(urlsplit(page.url).query))
            next_url = self._url(asked["gcmtitle"], {k: str(v) for k, v in cont.items()})
        return Listing(items=tuple(items), next_url=next_url, children=tuple(children))

    def _found(self, title: str, info: dict) -> Found:
        meta = info.get("extmetadata") or {}

        def value(key: str) -> str | None:
            entry = meta.get(key)
            return entry.get("value") if isinstance(entry, dict) else None

        name = re.sub(r"^File:", "", title)
        found = Found(item_id=title, page_url=info.get("descriptionurl"),
                      title=strip_html(value("ObjectName")) or re.sub(r"\.\w+$", "", name),
                      artist=strip_html(value("Artist")), date=strip_html(value("DateTimeOriginal")),
                      licence=strip_html(value("LicenseShortName")) or value("License"))
        mime = info.get("mime") or ""
        if not mime.startswith("image/"):
            return found.but(skip=("no_image", f"a {mime or 'non-image'} file"))
        url = info.get("thumburl") or info.get("url")
        if not url:
            return found.but(skip=("no_image", "imageinfo has no url"))
        return found.but(image_url=url)
