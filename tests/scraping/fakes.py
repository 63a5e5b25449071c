"""Loopback imitations of the museum APIs and Wikimedia Commons, with known artworks.

Each fake answers the same paths, parameters, JSON shapes and paging as the real service (as
documented by AIC, the Met, Cleveland and MediaWiki), serves small generated images, and honours
the filters the real service applies (public domain, has image, the search words), so a test
knows exactly which items a correct crawl must end with.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bench.rigs.localsite import (NOT_FOUND, LocalSite, Reply, Request, artwork, jpeg_bytes,
                                  png_bytes)
from scraping.settings import ScrapeSettings
from visualizer.core.config import override

CONTACT = "tests@example.org"


@dataclass(frozen=True)
class Work:
    """An artwork the fakes serve. ``image`` None: the record has no image."""

    id: int
    title: str
    artist: str
    date: str
    public_domain: bool = True
    image: bytes | None = None


def works(count: int, *, start: int = 0, size: tuple[int, int] = (64, 64)) -> list[Work]:
    """``count`` public-domain works titled "Abstract composition N", each a distinct image."""
    return [Work(i, f"Abstract composition {i}", f"Painter {i % 5}", f"19{i % 100:02d}",
                 image=png_bytes(artwork(i, size=size))) for i in range(start, start + count)]


def settings_for(source: str, **overrides: object) -> ScrapeSettings:
    """Settings for a fast test crawl: no rate limit, short timeouts and backoffs, small images.

    ``overrides`` use dotted keys with "__" for ".", e.g. ``aic__api_url=...``.
    """
    settings = ScrapeSettings(source=source)
    base = {"crawl.contact": CONTACT, "crawl.rate_per_host_hz": 0.0, "crawl.concurrency": 4,
            "crawl.timeout_s": 0.5, "crawl.retries": 2, "crawl.backoff_s": 0.01,
            "crawl.backoff_max_s": 0.05, "filter.min_size_px": 32}
    for key, value in {**base, **{k.replace("__", "."): v for k, v in overrides.items()}}.items():
        settings = override(settings, key, value)
    return settings


def manifest_rows(folder: Path) -> list[dict]:
    """Every manifest row as a dict, in discovery order."""
    from scraping.manifest import Manifest

    with Manifest(folder, create=False) as manifest:
        return [dataclasses.asdict(r) for r in manifest.rows()]


def by_id(rows: list[dict]) -> dict[str, dict]:
    return {r["item_id"]: r for r in rows}


def _matches(work: Work, query: str) -> bool:
    return all(word in work.title.lower() for word in query.lower().split())


# --------------------------------------------------------------------------- Art Institute


def add_aic(site: LocalSite, catalogue: list[Work]) -> str:
    """The AIC API at /api/v1 with IIIF images at /iiif/2; returns the API base URL."""
    iiif = site.url("/iiif/2")
    by_image_id = {f"iiif-{w.id:04d}": w for w in catalogue if w.image}

    def search(request: Request) -> Reply:
        q = request.query
        if request.path != "/api/v1/artworks/search":
            return NOT_FOUND
        hits = [w for w in catalogue if _matches(w, q.get("q", ""))]
        if q.get("query[term][is_public_domain]") == "true":
            hits = [w for w in hits if w.public_domain]
        limit, page = int(q.get("limit", 10)), int(q.get("page", 1))
        if limit > 100:
            return Reply.json({"status": 403, "error": "Invalid limit",
                               "detail": "You have requested too many resources per page."}, 403)
        chunk = hits[(page - 1) * limit:page * limit]
        fields = q.get("fields", "id,title").split(",")
        records = []
        for w in chunk:
            full = {"id": w.id, "title": w.title, "artist_title": w.artist,
                    "artist_display": f"{w.artist}\nAmerican, 1900-1980",
                    "date_display": w.date, "is_public_domain": w.public_domain,
                    "image_id": f"iiif-{w.id:04d}" if w.image else None,
                    "_score": 100.0 - w.id}
            records.append({k: full[k] for k in fields if k in full})
        return Reply.json({
            "preference": None,
            "pagination": {"total": len(hits), "limit": limit, "offset": (page - 1) * limit,
                           "total_pages": -(-len(hits) // limit), "current_page": page},
            "data": records,
            "info": {"license_text": "The data in this response is licensed under CC0.",
                     "version": "1.13"},
            "config": {"iiif_url": iiif, "website_url": site.url("")},
        })

    def image(request: Request) -> Reply:
        # /iiif/2/{id}/full/{w},/0/default.jpg
        parts = request.path.split("/")
        if len(parts) != 8 or parts[4] != "full" or parts[7] != "default.jpg":
            return Reply.text("bad IIIF request", 400)
        work = by_image_id.get(parts[3])
        return Reply(200, work.image, "image/jpeg") if work else NOT_FOUND

    site.route("/api/v1/", search)
    site.route("/iiif/2/", image)
    return site.url("/api/v1")


# --------------------------------------------------------------------------- The Met


def add_met(site: LocalSite, catalogue: list[Work], *, missing_ids: tuple[int, ...] = (),
            listed_without_image: tuple[int, ...] = ()) -> str:
    """The Met API at /public/collection/v1. ``missing_ids`` are listed by the search but their
    object URL answers 404 (the real API does this); ``listed_without_image`` pass the
    hasImages filter but have an empty primaryImage. Returns the API base URL."""
    base = "/public/collection/v1"
    by_id_ = {w.id: w for w in catalogue}

    def search(request: Request) -> Reply:
        q = request.query
        hits = [w for w in catalogue if _matches(w, q.get("q", ""))]
        if q.get("hasImages") == "true":
            hits = [w for w in hits if w.image or w.id in listed_without_image]
        if q.get("isPublicDomain") == "true":
            hits = [w for w in hits if w.public_domain]
        ids = [w.id for w in hits] + [i for i in missing_ids]
        return Reply.json({"total": len(ids), "objectIDs": ids or None})

    def objects(request: Request) -> Reply:
        stem = request.path.rsplit("/", 1)[-1]
        work = by_id_.get(int(stem)) if stem.isdigit() else None
        if work is None:
            return Reply.json({"message": "ObjectID not found"}, 404)
        image = site.url(f"/met-images/{work.id}.jpg") if work.image else ""
        small = site.url(f"/met-images/web-large/{work.id}.jpg") if work.image else ""
        return Reply.json({
            "objectID": work.id, "isHighlight": False, "isPublicDomain": work.public_domain,
            "primaryImage": image, "primaryImageSmall": small, "additionalImages": [],
            "department": "Modern and Contemporary Art", "objectName": "Painting",
            "title": work.title, "artistDisplayName": work.artist, "objectDate": work.date,
            "objectURL": f"https://www.metmuseum.org/art/collection/search/{work.id}"})

    def image(request: Request) -> Reply:
        stem = request.path.rsplit("/", 1)[-1].split(".")[0]
        work = by_id_.get(int(stem)) if stem.isdigit() else None
        return Reply(200, work.image, "image/jpeg") if work and work.image else NOT_FOUND

    site.route(f"{base}/search", search)
    site.route(f"{base}/objects/", objects)
    site.route("/met-images/", image)
    return site.url(base)


# --------------------------------------------------------------------------- Cleveland


def add_cleveland(site: LocalSite, catalogue: list[Work]) -> str:
    """The Cleveland Open Access API at /api; returns its base URL."""
    by_id_ = {w.id: w for w in catalogue}

    def artworks(request: Request) -> Reply:
        if request.path.rstrip("/") != "/api/artworks":
            return NOT_FOUND
        q = request.query
        hits = [w for w in catalogue if _matches(w, q.get("q", ""))]
        if q.get("cc0") in ("1", "true"):
            hits = [w for w in hits if w.public_domain]
        if q.get("has_image") in ("1", "true"):
            hits = [w for w in hits if w.image]
        skip, limit = int(q.get("skip", 0)), int(q.get("limit", 1000))
        data = []
        for w in hits[skip:skip + limit]:
            images = None
            if w.image:
                images = {rendition: {"url": site.url(f"/cma-images/{rendition}/{w.id}.jpg"),
                                      "width": "64", "height": "64", "filesize": str(len(w.image)),
                                      "filename": f"{w.id}.jpg"}
                          for rendition in ("web", "print", "full")}
            data.append({"id": 90000 + w.id, "accession_number": f"1950.{w.id}",
                         "share_license_status": "CC0" if w.public_domain else "Copyrighted",
                         "title": w.title, "creation_date": w.date, "type": "Painting",
                         "creators": [{"id": 7, "description": f"{w.artist} (American)",
                                       "role": "artist"}],
                         "url": f"https://clevelandart.org/art/1950.{w.id}", "images": images})
        return Reply.json({"info": {"total": len(hits), "parameters": dict(q)}, "data": data})

    def image(request: Request) -> Reply:
        stem = request.path.rsplit("/", 1)[-1].split(".")[0]
        work = by_id_.get(int(stem)) if stem.isdigit() else None
        return Reply(200, work.image, "image/jpeg") if work and work.image else NOT_FOUND

    site.route("/api/artworks", artworks)
    site.route("/cma-images/", image)
    return site.url("/api")


# --------------------------------------------------------------------------- Wikimedia


@dataclass(frozen=True)
class CommonsFile:
    title: str       # "File:Name.png"
    licence: str     # LicenseShortName, e.g. "CC BY-SA 4.0"
    artist: str      # the HTML Commons stores
    date: str
    image: bytes
    mime: str = "image/png"


def add_commons(site: LocalSite, categories: dict[str, list[CommonsFile | str]]) -> str:
    """A MediaWiki API at /w/api.php over ``categories`` ("Category:X" -> members: files, or
    names of subcategories); returns the API URL."""
    files = {f.title: f for members in categories.values() for f in members
             if isinstance(f, CommonsFile)}
    page_ids = {title: 1000 + i for i, title in enumerate(sorted(set(files) | set(categories)))}

    def api(request: Request) -> Reply:
        q = request.query
        if (q.get("action"), q.get("generator"), q.get("formatversion")) != \
                ("query", "categorymembers", "2"):
            return Reply.json({"error": {"code": "badparams", "info": "unsupported query"}})
        title = q.get("gcmtitle", "")
        if title not in categories:
            return Reply.json({"batchcomplete": True})  # MediaWiki: an empty category
        types = set(q.get("gcmtype", "page|subcat|file").split("|"))
        members = [m for m in categories[title]
                   if ("subcat" if isinstance(m, str) else "file") in types]
        start = int(q.get("gcmcontinue", "file|0").split("|")[1])
        limit = int(q.get("gcmlimit", 10))
        chunk = members[start:start + limit]
        pages = []
        for member in chunk:
            if isinstance(member, str):
                pages.append({"pageid": page_ids[member], "ns": 14, "title": member})
                continue
            name = quote(member.title.replace(" ", "_"), safe=":")
            info = {"size": len(member.image), "width": 64, "height": 64, "mime": member.mime,
                    "url": site.url(f"/upload/{name}"),
                    "descriptionurl": f"https://commons.wikimedia.org/wiki/{name}",
                    "extmetadata": {
                        "LicenseShortName": {"value": member.licence, "source": "commons-desc-page"},
                        "Artist": {"value": member.artist, "source": "commons-desc-page"},
                        "DateTimeOriginal": {"value": member.date, "source": "commons-desc-page"},
                        "ObjectName": {"value": member.title[5:].rsplit(".", 1)[0],
                                       "source": "mediawiki-metadata"}}}
            if "iiurlwidth" in q:
                info["thumburl"] = site.url(f"/upload/thumb/{q['iiurlwidth']}px-{name}")
                info["thumbwidth"] = int(q["iiurlwidth"])
            pages.append({"pageid": page_ids[member.title], "ns": 6, "title": member.title,
                          "imagerepository": "local", "imageinfo": [info]})
        reply = {"batchcomplete": True, "query": {"pages": pages}}
        if start + limit < len(members):
            reply["continue"] = {"gcmcontinue": f"file|{start + limit}",
                                 "continue": "gcmcontinue||"}
        return Reply.json(reply)

    def upload(request: Request) -> Reply:
        from urllib.parse import unquote

        name = unquote(request.path.rsplit("/", 1)[-1]).replace("_", " ")
        name = name.split("px-", 1)[1] if request.path.startswith("/upload/thumb/") else name
        member = files.get(name)
        return Reply(200, member.image, member.mime) if member else NOT_FOUND

    site.route("/w/api.php", api)
    site.route("/upload/", upload)
    return site.url("/w/api.php")


__all__ = ["CONTACT", "CommonsFile", "Work", "add_aic", "add_cleveland", "add_commons", "add_met",
           "artwork", "by_id", "jpeg_bytes", "manifest_rows", "png_bytes", "settings_for", "works"]
