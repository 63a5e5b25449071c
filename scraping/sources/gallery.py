"""A generic HTML gallery: listing pages, item pages and images found with CSS selectors.

For online galleries without an API. Listing pages (the start URLs and every page reached through
``next_selector``) link to item pages (``item_selector``); an item page holds the image
(``image_selector``) and, optionally, its title, artist, date and licence. With no
``item_selector`` the images are taken from the listing pages themselves. Next pages are
listings of their own keyed by URL, so a cycle of next links ends.
"""

from __future__ import annotations

from scraping.sources.base import Found, Listing, Page, Source, text_or_none


def link_of(element) -> str | None:
    """The URL an element points at: the largest srcset candidate of an img/source, else its
    src (or lazy data-src), a link's href, a meta's content, else the first link inside it."""
    srcset = element.get("srcset")
    if srcset and _largest_candidate(srcset):
        return _largest_candidate(srcset)
    for attribute in ("src", "data-src", "href", "content"):
        value = element.get(attribute)
        if value and value.strip():
            return value.strip()
    inner = element.select_one("a[href], img[src]")
    return link_of(inner) if inner is not None else None


def _largest_candidate(srcset: str) -> str | None:
    best, best_size = None, -1.0
    for candidate in srcset.split(","):
        parts = candidate.split()
        if not parts:
            continue
        size = 1.0
        if len(parts) > 1 and parts[1][:-1].replace(".", "", 1).isdigit():
            size = float(parts[1][:-1])
        if size > best_size:
            best, best_size = parts[0], size
    return best


class GallerySource(Source):
    name = "gallery"

    def identity(self) -> dict:
        g = self.settings.gallery
        return {"start_urls": list(g.start_urls), "item": g.item_selector,
                "image": g.image_selector, "next": g.next_selector}

    def start(self) -> tuple[tuple[str, str], ...]:
        return tuple((f"page:{url}", url) for url in self.settings.gallery.start_urls)

    def parse_listing(self, page: Page) -> Listing:
        g = self.settings.gallery
        soup = page.soup()
        items = []
        if g.item_selector:
            for element in soup.select(g.item_selector):
                link = link_of(element)
                if link:
                    url = page.absolute(link)
                    items.append(Found(item_id=url, page_url=url, detail_url=url))
        else:
            for element in soup.select(g.image_selector):
                link = link_of(element)
                if link:
                    url = page.absolute(link)
                    items.append(Found(item_id=url, image_url=url, page_url=page.final_url,
                                       title=text_or_none(element.get("alt") or element.get("title")),
                                       licence=g.licence or None))
        more = ()
        if g.next_selector:
            element = soup.select_one(g.next_selector)
            link = link_of(element) if element is not None else None
            if link:
                url = page.absolute(link)
                more = ((f"page:{url}", url),)
        return Listing(items=_unique(items), more=more)

    def parse_detail(self, found: Found, page: Page) -> Found:
        g = self.settings.gallery
        soup = page.soup()

        def text(selector: str) -> str | None:
            element = soup.select_one(selector) if selector else None
            return text_or_none(element.get_text(" ")) if element is not None else None

        title = text(g.title_selector) if g.title_selector else text_or_none(
            soup.title.get_text(" ") if soup.title else None)
        found = found.but(title=title, artist=text(g.artist_selector), date=text(g.date_selector),
                          licence=text(g.licence_selector) or g.licence or None)
        element = soup.select_one(g.image_selector)
        link = link_of(element) if element is not None else None
        if not link:
            return found.but(skip=("no_image", f"nothing matches image_selector "
                                               f"{g.image_selector!r}"))
        return found.but(image_url=page.absolute(link))


def _unique(items: list[Found]) -> tuple[Found, ...]:
    """Galleries often link an item twice (thumbnail and caption); keep the first."""
    seen: set[str] = set()
    unique = []
    for found in items:
        if found.item_id not in seen:
            seen.add(found.item_id)
            unique.append(found)
    return tuple(unique)
