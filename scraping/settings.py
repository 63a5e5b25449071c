"""Typed settings of `gansmania scrape` and `gansmania prepare` (TOML, `--set`, options).

One field is one `setting(...)`: its default, a one-line doc and what is allowed. The resolved
settings are written next to what the commands make (``RAW/scrape-SOURCE.config.toml``,
``DATA/config.toml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from visualizer.core.config import section, setting

# The registry in scraping.sources maps these names to classes; a test keeps the two in step.
SOURCE_NAMES = ("aic", "met", "cleveland", "wikimedia", "gallery")
# Sources read from this machine's package manager instead of crawled over HTTP.
LOCAL_SOURCE_NAMES = ("debian-art",)


@dataclass(frozen=True)
class CrawlSettings:
    """Politeness and robustness of every request."""

    # Site owners read the User-Agent when a crawler misbehaves; they need a way to reach you.
    contact: str = setting("", doc="email or URL put in the User-Agent so site owners can reach "
                                   "you (required; or set GANSMANIA_CONTACT)")
    concurrency: int = setting(8, doc="items in flight at once, all hosts together", min=1,
                               max=256)
    per_host_concurrency: int = setting(4, doc="requests in flight to one host at once", min=1,
                                        max=256)
    rate_per_host_hz: float = setting(4.0, doc="requests started per second on one host; 0 = no "
                                               "limit (a robots.txt Crawl-delay still applies)",
                                      min=0.0, max=10000.0)
    timeout_s: float = setting(30.0, doc="give up on a connect or a read that stalls this long",
                               min=0.01, max=600.0)
    transfer_timeout_s: float = setting(600.0, doc="give up on one whole transfer after this long",
                                        min=0.05, max=86400.0)
    retries: int = setting(4, doc="retries after a 429, a 5xx, a timeout or a dropped connection",
                           min=0, max=20)
    backoff_s: float = setting(1.0, doc="wait before the first retry; doubles on each retry "
                                        "(with jitter)", min=0.0, max=600.0)
    backoff_max_s: float = setting(60.0, doc="longest wait between retries (without Retry-After)",
                                   min=0.0, max=3600.0)
    retry_after_max_s: float = setting(600.0, doc="longest Retry-After honoured; a server asking "
                                                  "for more ends the item as failed",
                                       min=0.0, max=86400.0)
    max_redirects: int = setting(5, doc="redirects followed per request (each hop is checked "
                                        "against robots.txt)", min=0, max=30)


@dataclass(frozen=True)
class FilterSettings:
    """What is kept: size, payload, licence and duplicate rules."""

    min_size_px: int = setting(256, doc="images whose shorter side is below this are rejected "
                                        "(too_small)", min=1, max=100000)
    max_image_mb: float = setting(64.0, doc="downloads larger than this are abandoned (too_large)",
                                  min=0.001, max=4096.0)
    near_duplicate_bits: int = setting(6, doc="perceptual hashes (64 bits) at most this far apart, "
                                              "with a similar mean colour, are near duplicates; "
                                              "0 = identical hashes only", min=0, max=32)
    near_duplicate_colour: int = setting(24, doc="largest mean-colour difference (0-255 per "
                                                 "channel) of near duplicates", min=0, max=255)
    licences: tuple[str, ...] = setting(
        ("pd", "cc0", "cc-by", "cc-by-sa"),
        doc="licence families kept: pd, cc0, cc-by, cc-by-sa, cc-by-nc, cc-by-nc-sa, cc-by-nd, "
            "cc-by-nc-nd, or 'any'")


@dataclass(frozen=True)
class AicSettings:
    """Art Institute of Chicago API (public-domain works, IIIF images)."""

    api_url: str = setting("https://api.artic.edu/api/v1", doc="API base URL")
    iiif_url: str = setting("", doc="IIIF image server; empty = the one the API names "
                                    "(config.iiif_url)")
    website_url: str = setting("https://www.artic.edu", doc="where artwork pages live")
    image_width: int = setting(843, doc="IIIF width asked for (843 is the size AIC caches; 1686 "
                                        "for large)", min=32, max=10000)
    page_size: int = setting(100, doc="results per search page", min=1, max=100)


@dataclass(frozen=True)
class MetSettings:
    """The Met Collection API (public-domain objects with images)."""

    api_url: str = setting("https://collectionapi.metmuseum.org/public/collection/v1",
                           doc="API base URL")
    image: Literal["full", "small"] = setting("full", doc="primaryImage (full) or "
                                                          "primaryImageSmall")


@dataclass(frozen=True)
class ClevelandSettings:
    """Cleveland Museum of Art Open Access API (CC0 works)."""

    api_url: str = setting("https://openaccess-api.clevelandart.org/api", doc="API base URL")
    image: Literal["web", "print", "full"] = setting("web", doc="which rendition to download")
    page_size: int = setting(100, doc="results per page", min=1, max=1000)


@dataclass(frozen=True)
class WikimediaSettings:
    """Wikimedia Commons: a category (the --query) and its subcategories."""

    api_url: str = setting("https://commons.wikimedia.org/w/api.php", doc="MediaWiki API URL")
    depth: int = setting(2, doc="subcategory levels followed below the category", min=0, max=20)
    image_width: int = setting(1024, doc="width of the rendition asked for; 0 = the original file",
                               min=0, max=20000)
    page_size: int = setting(50, doc="category members per request", min=1, max=500)


@dataclass(frozen=True)
class GallerySettings:
    """A generic HTML gallery: start pages plus CSS selectors (BeautifulSoup)."""

    start_urls: tuple[str, ...] = setting((), doc="listing pages to start from")
    item_selector: str = setting("", doc="links to item pages on a listing page; empty = the "
                                         "images are on the listing page itself")
    image_selector: str = setting("img", doc="the image on an item page (img src, a href, or "
                                             "source srcset)")
    next_selector: str = setting("", doc="the link to the next listing page; empty = one page")
    title_selector: str = setting("", doc="the title on an item page (default: the <title>)")
    artist_selector: str = setting("", doc="the artist on an item page")
    date_selector: str = setting("", doc="the date on an item page")
    licence: str = setting("", doc="the licence the site grants its images (e.g. CC0)")
    licence_selector: str = setting("", doc="the licence on an item page (overrides licence)")


@dataclass(frozen=True)
class DebianArtSettings:
    catalogue: Path | None = setting(None, doc="reviewed package list (TOML: keep/drop patterns "
                                               "per package); unset = scraping/debian_art.toml")
    packages: tuple[str, ...] = setting((), doc="packages of scraping/debian_art.toml to take; "
                                            "empty = all of them")
    kinds: tuple[str, ...] = setting(("wallpaper", "fractal"),
                                     doc="kinds of work kept: wallpaper, texture, fractal")
    fractal_cache: Path | None = setting(None, doc="a `gansmania fractals render` cache whose "
                                                   "renders join the scrape (kind fractal); "
                                                   "unset = none")
    svg_width_px: int = setting(2560, doc="width SVG wallpapers are drawn at", min=256,
                                max=16384)


@dataclass(frozen=True)
class ScrapeSettings:
    """Everything `gansmania scrape` needs."""

    source: str = setting("aic", doc="where to scrape", choices=SOURCE_NAMES + LOCAL_SOURCE_NAMES)
    query: str = setting("abstract", doc="search words (museums) or category (wikimedia)")
    limit: int = setting(0, doc="most items to list for this query; 0 = all", min=0,
                         max=100_000_000)
    crawl: CrawlSettings = section(CrawlSettings, doc="politeness and retries")
    filter: FilterSettings = section(FilterSettings, doc="what is kept")
    aic: AicSettings = section(AicSettings, doc="Art Institute of Chicago")
    met: MetSettings = section(MetSettings, doc="The Met")
    cleveland: ClevelandSettings = section(ClevelandSettings, doc="Cleveland Museum of Art")
    wikimedia: WikimediaSettings = section(WikimediaSettings, doc="Wikimedia Commons")
    gallery: GallerySettings = section(GallerySettings, doc="generic HTML gallery")
    debian_art: DebianArtSettings = section(DebianArtSettings, doc="art in Debian packages")


@dataclass(frozen=True)
class PrepareSettings:
    """How `gansmania prepare` turns kept images into a training set."""

    resolution: int = setting(256, doc="side of the square training images, px",
                              choices=(4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048))
    crop: Literal["center", "multi", "scales"] = setting(
        "center", doc="one centre square, several squares along a long image, or random squares "
                      "at several scales")
    max_crops: int = setting(3, doc="most squares taken from one image with crop = multi or "
                                    "scales", min=1, max=1024)
    crop_min_fraction: float = setting(0.25, doc="crop = scales: smallest square, as a fraction "
                                                 "of the shorter side (never under the "
                                                 "resolution)", min=0.01, max=1.0)
    augment: int = setting(0, doc="extra augmented copies of every crop (the set grows 1+N "
                                  "times)", min=0, max=64)
    flip: bool = setting(True, doc="augmentation: mirror left-right half the time")
    rotation_deg: float = setting(10.0, doc="augmentation: largest rotation either way, degrees "
                                            "(cropped so no corner is empty)", min=0.0, max=45.0)
    jitter: float = setting(0.15, doc="augmentation: brightness/contrast/saturation change, "
                                      "as a fraction", min=0.0, max=1.0)
    hue_deg: float = setting(8.0, doc="augmentation: largest hue shift either way, degrees",
                             min=0.0, max=180.0)
    crop_scale: float = setting(0.8, doc="augmentation: smallest random crop, as a fraction of "
                                         "the square's side", min=0.1, max=1.0)
    seed: int = setting(0, doc="augmentation seed (the same seed gives the same dataset)", min=0,
                        max=2**31 - 1)
    workers: int = setting(0, doc="processes resizing images; 0 = one per CPU core", min=0,
                           max=256)
