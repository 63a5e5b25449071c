"""Each source against a loopback imitation of its API: the expected items, with metadata."""

from __future__ import annotations

from bench.rigs.localsite import add_gallery, artwork, png_bytes
from scraping.crawl import scrape
from scraping.settings import SOURCE_NAMES
from scraping.sources import SOURCES
from tests.scraping.fakes import (CommonsFile, Work, add_aic, add_cleveland, add_commons, add_met,
                                  by_id, manifest_rows, settings_for, works)


def test_the_registry_names_every_source():
    assert tuple(SOURCES) == SOURCE_NAMES


def _catalogue() -> list[Work]:
    catalogue = works(7)
    catalogue.append(Work(50, "Abstract in copyright", "Living Painter", "2001",
                          public_domain=False, image=png_bytes(artwork(50))))
    catalogue.append(Work(51, "Still life with pears", "Painter 1", "1890",
                          image=png_bytes(artwork(51))))
    catalogue.append(Work(52, "Abstract without a picture", "Painter 2", "1950", image=None))
    return catalogue


def test_aic_pages_through_public_domain_search_results(site, tmp_path):
    api = add_aic(site, _catalogue())
    settings = settings_for("aic", query="abstract", aic__api_url=api, aic__page_size=3,
                            aic__website_url="https://www.artic.edu")
    summary = scrape(settings, tmp_path)

    rows = by_id(manifest_rows(tmp_path))
    # 7 public-domain works with images plus the one without; the filter and the query keep the
    # copyrighted work and the still life out of the results altogether.
    assert set(rows) == {str(i) for i in range(7)} | {"52"}
    assert rows["52"]["status"] == "no_image"
    first = rows["3"]
    assert (first["title"], first["artist"], first["date"], first["licence"]) == \
        ("Abstract composition 3", "Painter 3", "1903", "CC0")
    assert first["page_url"] == "https://www.artic.edu/artworks/3"
    assert first["image_url"] == site.url("/iiif/2/iiif-0003/full/843,/0/default.jpg")
    assert first["status"] == "kept" and first["width"] == 64 and len(first["sha256"]) == 64
    assert summary.statuses == {"kept": 7, "no_image": 1}
    assert site.hits("/api/v1/artworks/search") == 3  # 8 results, 3 per page
    assert any("gansmania" in agent and "tests@example.org" in agent
               for agent in site.user_agents())


def test_met_lists_ids_then_fetches_each_object(site, tmp_path):
    api = add_met(site, _catalogue(), missing_ids=(99,), listed_without_image=(52,))
    summary = scrape(settings_for("met", query="abstract", met__api_url=api), tmp_path)

    rows = by_id(manifest_rows(tmp_path))
    assert set(rows) == {str(i) for i in range(7)} | {"52", "99"}
    assert rows["99"]["status"] == "http_error" and "404" in rows["99"]["reason"]
    assert rows["52"]["status"] == "no_image"
    work = rows["4"]
    assert (work["title"], work["artist"], work["date"], work["licence"]) == \
        ("Abstract composition 4", "Painter 4", "1904", "CC0")
    assert work["page_url"] == "https://www.metmuseum.org/art/collection/search/4"
    assert work["image_url"] == site.url("/met-images/4.jpg")
    assert summary.statuses == {"kept": 7, "no_image": 1, "http_error": 1}


def test_cleveland_pages_with_skip_and_limit(site, tmp_path):
    api = add_cleveland(site, _catalogue())
    summary = scrape(settings_for("cleveland", query="abstract", cleveland__api_url=api,
                                  cleveland__page_size=2, cleveland__image="print"), tmp_path)

    rows = by_id(manifest_rows(tmp_path))
    assert set(rows) == {str(90000 + i) for i in range(7)}
    work = rows["90002"]
    assert (work["title"], work["artist"], work["date"], work["licence"]) == \
        ("Abstract composition 2", "Painter 2 (American)", "1902", "CC0")
    assert work["page_url"] == "https://clevelandart.org/art/1950.2"
    assert work["image_url"] == site.url("/cma-images/print/2.jpg")
    assert summary.statuses == {"kept": 7}
    assert site.total_hits("/api/artworks") == 4  # 7 results, 2 per page


def _commons_file(n: int, licence: str, mime: str = "image/png") -> CommonsFile:
    return CommonsFile(f"File:Abstract {n}.png", licence,
                       f'<a href="//commons.wikimedia.org/wiki/User:P{n}" title="User:P{n}">'
                       f"Painter {n}</a>", f"19{n:02d}", png_bytes(artwork(100 + n)), mime)


def test_wikimedia_walks_subcategories_to_the_depth_with_licences(site, tmp_path):
    categories = {
        "Category:Abstract art": [_commons_file(1, "CC BY-SA 4.0"), _commons_file(2, "Public domain"),
                                  "Category:Abstract paintings", _commons_file(3, "CC BY-NC 4.0"),
                                  _commons_file(4, "CC0", mime="application/pdf")],
        "Category:Abstract paintings": [_commons_file(5, "CC BY 4.0"), "Category:Abstract art",
                                        "Category:Deeper"],
        "Category:Deeper": [_commons_file(6, "CC0")],
    }
    api = add_commons(site, categories)
    summary = scrape(settings_for("wikimedia", query="abstract art", wikimedia__api_url=api,
                                  wikimedia__depth=1, wikimedia__page_size=2,
                                  wikimedia__image_width=64), tmp_path)

    rows = by_id(manifest_rows(tmp_path))
    # Depth 1 reaches "Abstract paintings" but not "Deeper"; the cycle back to the root ends.
    assert set(rows) == {f"File:Abstract {n}.png" for n in (1, 2, 3, 4, 5)}
    one = rows["File:Abstract 1.png"]
    assert (one["title"], one["artist"], one["date"], one["licence"]) == \
        ("Abstract 1", "Painter 1", "1901", "CC BY-SA 4.0")
    assert one["page_url"] == "https://commons.wikimedia.org/wiki/File:Abstract_1.png"
    assert one["image_url"] == site.url("/upload/thumb/64px-File:Abstract_1.png")
    assert rows["File:Abstract 3.png"]["status"] == "licence"
    assert rows["File:Abstract 4.png"]["status"] == "no_image"
    assert summary.statuses == {"kept": 3, "licence": 1, "no_image": 1}


def test_wikimedia_depth_2_reaches_the_deeper_category(site, tmp_path):
    categories = {"Category:Root": ["Category:A"], "Category:A": ["Category:B"],
                  "Category:B": [_commons_file(7, "CC0")]}
    api = add_commons(site, categories)
    scrape(settings_for("wikimedia", query="Category:Root", wikimedia__api_url=api,
                        wikimedia__depth=2), tmp_path)
    assert [r["item_id"] for r in manifest_rows(tmp_path)] == ["File:Abstract 7.png"]


def test_gallery_follows_next_pages_and_reads_item_pages(site, tmp_path):
    first = add_gallery(site, count=12, per_page=5)
    settings = settings_for("gallery", gallery__start_urls=[first],
                            gallery__item_selector="a.work", gallery__image_selector="img.art",
                            gallery__next_selector="a.next", gallery__title_selector="h1.title",
                            gallery__artist_selector=".artist", gallery__date_selector=".date",
                            gallery__licence="CC0")
    summary = scrape(settings, tmp_path)

    rows = manifest_rows(tmp_path)
    assert [r["item_id"] for r in rows] == [site.url(f"/gallery/item/{i}.html") for i in range(12)]
    work = rows[11]
    assert (work["title"], work["artist"], work["date"], work["licence"]) == \
        ("Work 11", "Artist 11", "1911", "CC0")
    assert work["image_url"] == site.url("/gallery/img/11.png")
    assert summary.statuses == {"kept": 12}
    assert [site.hits(f"/gallery/page/{n}.html") for n in (1, 2, 3, 4)] == [1, 1, 1, 0]


def test_gallery_without_item_pages_takes_images_from_the_listing(site, tmp_path):
    first = add_gallery(site, count=4, per_page=10, item_pages=False)
    settings = settings_for("gallery", gallery__start_urls=[first],
                            gallery__image_selector="img.art", gallery__licence="CC BY 4.0")
    scrape(settings, tmp_path)
    rows = manifest_rows(tmp_path)
    assert [(r["item_id"], r["title"], r["status"]) for r in rows] == \
        [(site.url(f"/gallery/img/{i}.png"), f"Work {i}", "kept") for i in range(4)]
    assert site.total_hits("/gallery/item/") == 0
