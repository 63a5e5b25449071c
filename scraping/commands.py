"""The scraping package's subcommands (registered by visualizer.cli). Heavy imports stay inside the
command functions so `gansmania --help` stays fast."""

from __future__ import annotations

import os
from pathlib import Path

import click

from scraping.fractals import fractals
from scraping.settings import LOCAL_SOURCE_NAMES, SOURCE_NAMES

_SET_HELP = "Override any setting, e.g. --set crawl.rate_per_host_hz=2 (repeatable)."


@click.command()
@click.option("--source", "-s", type=click.Choice(SOURCE_NAMES + LOCAL_SOURCE_NAMES),
              required=True,
              help="Where to scrape.")
@click.option("--query", "-q", help="Search words (museums) or a category (wikimedia).")
@click.option("--limit", type=click.IntRange(min=0), help="Most items to list (0 = all).")
@click.option("--out", "-o", "out", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder for the manifest and images (resumed if it exists).")
@click.option("--contact", help="Email or URL for the User-Agent (or GANSMANIA_CONTACT).")
@click.option("--concurrency", type=click.IntRange(min=1), help="Items in flight at once.")
@click.option("--rate", type=click.FloatRange(min=0), help="Requests per second per host.")
@click.option("--min-size", type=click.IntRange(min=1), help="Smallest shorter side kept, px.")
@click.option("--start-url", "start_urls", multiple=True, help="gallery: a listing page.")
@click.option("--item-selector", help="gallery: CSS selector of item links on a listing page.")
@click.option("--image-selector", help="gallery: CSS selector of the image.")
@click.option("--next-selector", help="gallery: CSS selector of the next-page link.")
@click.option("--licence", help="gallery: the licence the site grants (e.g. CC0).")
@click.option("--refresh", is_flag=True, help="Walk the listings again for new items.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Settings file (TOML) with [crawl], [filter] and per-source tables.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help=_SET_HELP)
def scrape(source: str, query: str | None, limit: int | None, out: Path, contact: str | None,
           concurrency: int | None, rate: float | None, min_size: int | None,
           start_urls: tuple[str, ...], item_selector: str | None, image_selector: str | None,
           next_selector: str | None, licence: str | None, refresh: bool,
           config_path: Path | None, assignments: tuple[str, ...]) -> None:
    """Download openly licensed art from a museum API, Wikimedia Commons or an HTML gallery.

    Sources: aic (Art Institute of Chicago, public domain), met (The Met, public domain),
    cleveland (Cleveland Museum of Art, CC0), wikimedia (a Commons category and its
    subcategories, with each file's licence), gallery (any site: start URLs and CSS selectors),
    debian-art (abstract wallpapers and fractal renders from Debian packages, offline: a
    reviewed list of packages fetched with apt-get download, licences from their copyright
    files).
    The crawl honours robots.txt, limits the rate per host, retries with backoff (and
    Retry-After), and records every item in OUT/manifest.sqlite. Run it again to resume: nothing
    is downloaded twice. Exact and near duplicates are kept once.

    \b
    Example:
      gansmania scrape --source aic --query abstract --limit 500 --out raw/ --contact me@example.org
      gansmania scrape --source debian-art --out raw/
      gansmania scrape --source wikimedia --query "Abstract paintings" --out raw/ --contact me@example.org
      gansmania scrape --source gallery --start-url https://example.org/art --item-selector "a.work" \\
          --image-selector "img.full" --next-selector "a.next" --licence CC0 --out raw/ --contact me@example.org
    """
    from scraping.settings import ScrapeSettings
    from visualizer.core.config import load_config, parse_assignment

    overrides = {"source": source, "query": query, "limit": limit,
                 "crawl.contact": contact or os.environ.get("GANSMANIA_CONTACT") or None,
                 "crawl.concurrency": concurrency, "crawl.rate_per_host_hz": rate,
                 "filter.min_size_px": min_size, "gallery.start_urls": list(start_urls) or None,
                 "gallery.item_selector": item_selector, "gallery.image_selector": image_selector,
                 "gallery.next_selector": next_selector, "gallery.licence": licence}
    overrides.update(parse_assignment(a) for a in assignments)
    settings = load_config(ScrapeSettings, config_path, overrides=overrides)
    _run_scrape(settings, out, refresh=refresh)


def _run_scrape(settings, out: Path, *, refresh: bool) -> None:
    from scraping.crawl import check_settings
    from scraping.crawl import scrape as run_crawl
    from scraping.progress import CrawlProgress, print_summary
    from visualizer.core.config import to_toml

    if settings.source not in LOCAL_SOURCE_NAMES:
        check_settings(settings)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"scrape-{settings.source}.config.toml").write_text(to_toml(settings), encoding="utf-8")
    try:
        with CrawlProgress(settings.source) as progress:
            if settings.source == "debian-art":
                from scraping.debian_art import scrape_debian_art
                summary = scrape_debian_art(settings, out, observer=progress)
            else:
                summary = run_crawl(settings, out, observer=progress, refresh=refresh)
    except KeyboardInterrupt:
        # Everything recorded so far is in the manifest; the same command resumes.
        click.echo(f"interrupted; run the same command again to resume ({out})", err=True)
        raise click.Abort() from None
    print_summary(summary, out)


@click.command()
@click.argument("raw", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "-o", "out", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Dataset folder to write.")
@click.option("--res", "resolution", type=int, help="Side of the square images, px (power of 2).")
@click.option("--augment", type=click.IntRange(min=0), help="Extra augmented copies per crop.")
@click.option("--crop", type=click.Choice(["center", "multi", "scales"]),
              help="One centre square, several along a long image, or random squares at "
                   "several scales (up to max_crops each).")
@click.option("--max-crops", type=click.IntRange(min=1), help="Most squares from one image.")
@click.option("--seed", type=click.IntRange(min=0), help="Augmentation seed.")
@click.option("--workers", type=click.IntRange(min=0), help="Processes (0 = one per core).")
@click.option("--overwrite", is_flag=True, help="Replace a dataset already in --out.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Settings file (TOML).")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Override any setting, e.g. --set rotation_deg=5 (repeatable).")
def prepare(raw: Path, out: Path, resolution: int | None, augment: int | None,
            crop: str | None, max_crops: int | None, seed: int | None, workers: int | None, overwrite: bool,
            config_path: Path | None, assignments: tuple[str, ...]) -> None:
    """Turn the kept images of a scrape into a training set for `gansmania train`.

    Square crops (centre, several along long images, or random ones at several scales)
    resized with Lanczos to RES x RES PNGs in NVlabs' layout (00000/img00000000.png), optional augmentation that multiplies the set
    (flip, rotation, colour jitter, crops), dataset.json, and ATTRIBUTION.md naming every
    source work's artist, title, licence and URL.

    \b
    Example:
      gansmania prepare raw/ --res 256 --out data/
      gansmania prepare raw/ --res 256 --augment 3 --crop multi --out data/
      gansmania prepare raw/ --res 256 --crop scales --max-crops 64 --out data/
    """
    from scraping.prepare import prepare_dataset
    from scraping.progress import bar
    from scraping.settings import PrepareSettings
    from visualizer.core.config import load_config, parse_assignment

    overrides = {"resolution": resolution, "augment": augment, "crop": crop,
                 "max_crops": max_crops, "seed": seed,
                 "workers": workers}
    overrides.update(parse_assignment(a) for a in assignments)
    settings = load_config(PrepareSettings, config_path, overrides=overrides)
    with bar("prepare", unit="images") as advance:
        summary = prepare_dataset(raw, out, settings, overwrite=overwrite, progress=advance)
    click.echo(f"wrote {summary.images} images ({settings.resolution}x{settings.resolution}) from "
               f"{summary.sources} source images to {summary.out}")
    if summary.missing or summary.unreadable:
        click.echo(f"skipped: {summary.missing} missing, {summary.unreadable} unreadable "
                   "(see the log)")
    click.echo(f"attribution: {summary.out / 'ATTRIBUTION.md'}")


COMMANDS: tuple = (scrape, prepare, fractals)
