"""`gansmania scrape --source debian-art`: openly licensed abstract art shipped in Debian packages.

Works offline from any Debian mirror the machine already uses, and needs no root: packages are
fetched with ``apt-get download`` and unpacked with ``dpkg-deb -x`` into ``OUT/packages/``.
Which files are abstract art is a reviewed list (``debian_art.toml`` beside this module: keep and
drop patterns per package, with the reason for each). Each image's author and licence come from
the package's DEP-5 copyright file (the last stanza whose ``Files`` pattern matches, as DEP-5
says), falling back to the list's own note. SVGs are drawn by librsvg's ``rsvg-convert``, which
renders filters (blurs, gradients) that lighter SVG libraries skip.

With ``debian_art.fractal_cache`` the renders of a `gansmania fractals render` cache join as
works of mandelbulber2-data (the scene's artist and licence; see scraping/fractals.py).

Every candidate gets a row in the same manifest as the web sources (``source = "debian-art"``,
``item_id = PACKAGE/PATH``), stored content-addressed under ``OUT/images/``, so duplicates,
``prepare`` and ATTRIBUTION.md work unchanged. A rerun skips what is recorded: an interrupted
run resumes. Only works whose licence can be carried by the model's licence are kept
(``WEIGHTS_COMPATIBLE``; training/model_card.py says why the weights are GPL-3.0-or-later).
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import re
import shutil
import subprocess
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from scraping import dep5
from scraping.crawl import CrawlObserver, CrawlSummary, Quiet, exclusive
from scraping.dedupe import decide_duplicates
from scraping.images import Rejection, inspect_image
from scraping.manifest import Manifest, Row, Stored
from scraping.settings import DebianArtSettings, ScrapeSettings
from visualizer.core.errors import ConfigError, GansmaniaError

log = logging.getLogger(__name__)

SOURCE = "debian-art"
CATALOGUE = Path(__file__).with_name("debian_art.toml")
FRACTAL_PACKAGE = "mandelbulber2-data"   # the scenes and their copyright file
FRACTAL_EXAMPLES = "usr/share/mandelbulber2/examples"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".svg")
COMMAND_TIMEOUT_S = 300

# Licences (as DEP-5 files spell them) whose works may be trained into weights released under
# GPL-3.0-or-later: GPL-2+ allows "any later version"; CC BY-SA 4.0 is one-way compatible with
# GPLv3 and BY-SA 3.0 adaptations may use 4.0; CC BY, CC0, public domain and Expat are permissive.
# GPL-2 only (no "or later") is the one common licence that is not.
WEIGHTS_COMPATIBLE = frozenset({
    "gpl-2+", "gpl-2.0+", "gpl-2.0-or-later", "gpl-3+", "gpl-3.0+", "gpl-3.0-or-later",
    "lgpl-2+", "lgpl-2.1+", "lgpl-3+", "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-3.0", "cc-by-4.0",
    "cc0-1.0", "cc0", "public-domain", "expat", "mit",
})


@dataclass(frozen=True)
class PackageRule:
    """The reviewed selection of one package (a table of debian_art.toml)."""

    name: str
    kind: str
    keep: tuple[str, ...]
    drop: tuple[str, ...]
    author: str | None
    licence: str | None
    one_per_folder: bool  # the folder holds one picture at several sizes: take the largest

    def selects(self, path: str) -> bool:
        return (any(fnmatch.fnmatchcase(path, p) for p in self.keep)
                and not any(fnmatch.fnmatchcase(path, p) for p in self.drop))


@dataclass(frozen=True)
class Work:
    """A selected image inside an unpacked package."""

    package: str
    version: str
    path: str          # inside the package, e.g. usr/share/backgrounds/gnome/blobs-d.svg
    file: Path         # where it lies unpacked
    author: str | None
    licence: str | None
    title: str = ""    # default: the file's name

    @property
    def item_id(self) -> str:
        return f"{self.package}/{self.path}"


def load_catalogue(path: Path = CATALOGUE) -> dict[str, PackageRule]:
    """The reviewed package list; a malformed file is a one-line error naming it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise GansmaniaError(f"{path}: cannot read the package list ({exc})") from None
    rules = {}
    for name, table in data.get("packages", {}).items():
        try:
            rules[name] = PackageRule(name=name, kind=str(table["kind"]),
                                      keep=tuple(table["keep"]), drop=tuple(table.get("drop", ())),
                                      author=table.get("author"), licence=table.get("licence"),
                                      one_per_folder=bool(table.get("one_per_folder", False)))
        except (KeyError, TypeError) as exc:
            raise GansmaniaError(f"{path}: packages.{name}: missing or wrong key {exc}; each "
                                 "package needs kind (str) and keep (list of patterns)") from None
    return rules


# ----------------------------------------------------------------------------- licences

def licence_compatible(licence: str | None) -> bool:
    """Whether a DEP-5 licence expression allows training weights released as GPL-3.0-or-later."""
    if not licence:
        return False
    return any(option.strip().lower() in WEIGHTS_COMPATIBLE
               for option in re.split(r"\s+or\s+", licence, flags=re.I))


# ----------------------------------------------------------------------------- packages

def fetch_package(name: str, folder: Path, *, run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> tuple[Path, str]:
    """Download (once) and unpack (once) ``name`` into ``folder``; (unpacked tree, version)."""
    folder.mkdir(parents=True, exist_ok=True)
    debs = sorted(folder.glob(f"{name}_*.deb"))
    if not debs:
        _command(["apt-get", "download", name], cwd=folder, run=run,
                 what=f"apt-get download {name}",
                 hint="is the package name right, and has `apt-get update` been run?")
        debs = sorted(folder.glob(f"{name}_*.deb"))
        if not debs:
            raise GansmaniaError(f"apt-get download {name}: finished but left no {name}_*.deb "
                                 f"in {folder}")
    deb = debs[-1]
    version = deb.name.split("_")[1].replace("%3a", ":")
    tree = folder / name
    stamp = tree / ".unpacked"
    if not stamp.exists():
        shutil.rmtree(tree, ignore_errors=True)
        _command(["dpkg-deb", "-x", str(deb), str(tree)], cwd=folder, run=run,
                 what=f"dpkg-deb -x {deb.name}", hint="the .deb may be damaged; delete it to "
                 "download it again")
        stamp.write_text(deb.name, encoding="utf-8")
    return tree, version


def _command(argv: list[str], *, cwd: Path, run: Callable[..., subprocess.CompletedProcess],
             what: str, hint: str) -> None:
    try:
        done = run(argv, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    except FileNotFoundError:
        raise GansmaniaError(f"{what}: {argv[0]} is not installed (a Debian system is needed "
                             "for --source debian-art)") from None
    except subprocess.TimeoutExpired:
        raise GansmaniaError(f"{what}: no answer in {COMMAND_TIMEOUT_S} s") from None
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no message"]
        raise GansmaniaError(f"{what}: failed ({last[0]}); {hint}")


def find_works(rule: PackageRule, tree: Path, version: str) -> Iterator[Work]:
    """The package's selected images, with author and licence, in path order."""
    copyright_files = sorted(tree.glob("usr/share/doc/*/copyright"))
    stanzas = dep5.parse(copyright_files[0].read_text(encoding="utf-8", errors="replace")) \
        if copyright_files else []
    files = [f for f in sorted(tree.rglob("*")) if f.suffix.lower() in IMAGE_SUFFIXES
             and f.is_file() and rule.selects(f.relative_to(tree).as_posix())]
    if rule.one_per_folder:
        largest = {}
        for file in files:
            if file.parent not in largest or _size_rank(file) > _size_rank(largest[file.parent]):
                largest[file.parent] = file
        files = sorted(largest.values())
    for file in files:
        path = file.relative_to(tree).as_posix()
        stanza = dep5.governing(stanzas, path)
        # A free-form copyright file (no stanza) or one whose only match is the package-wide
        # "Files: *" (packaging code's licence) defers to the reviewed note, when there is one.
        if stanza is None or (stanza.patterns == ("*",) and rule.licence):
            author, licence = rule.author, rule.licence
        else:
            author, licence = ", ".join(stanza.authors) or rule.author, stanza.licence
        yield Work(package=rule.name, version=version, path=path, file=file, author=author,
                   licence=licence)


def _size_rank(file: Path) -> tuple[int, int]:
    """Wallpaper sizes are in their names ("3840x2160.svg"); otherwise the bigger file wins."""
    size = re.fullmatch(r"(\d+)x(\d+)", file.stem)
    return (int(size[1]) * int(size[2]) if size else 0, file.stat().st_size)


# ----------------------------------------------------------------------------- the scrape

def scrape_debian_art(settings: ScrapeSettings, out: Path, *,
                      observer: CrawlObserver | None = None) -> CrawlSummary:
    """Gather the reviewed works of ``settings.debian_art.packages`` into the scrape ``out``.

    Resumable like the web crawl: each package is a listing task committed with its items, each
    item is settled once, and a rerun continues with what is still pending.
    """
    observer = observer or Quiet()
    began = time.monotonic()
    rules = selected_rules(settings.debian_art)
    out = Path(out)
    listings = _listings(settings.debian_art, rules, out / "packages")
    with exclusive(out), Manifest(out) as manifest:
        manifest.add_tasks(SOURCE, [(key, f"debian:{key}", 0) for key in listings])
        observer.start(found=manifest.count_found(SOURCE), settled=manifest.count_settled(SOURCE))
        errors = []
        files: dict[str, Path] = {}
        # Listing is local and cheap, so it is done every run: an edited reviewed list (or new
        # fractal renders) takes effect on the next run, adding works and excluding dropped ones.
        for key, (kind, prefix, list_works) in listings.items():
            task = manifest.task(SOURCE, key)
            try:
                works = list(list_works())
            except GansmaniaError as exc:
                manifest.task_failed(task, str(exc))
                errors.append(str(exc))
                continue
            manifest.commit_page(task, items=[_item(w, kind) for w in works], next_url=None)
            _exclude_dropped(manifest, prefix, {w.item_id for w in works})
            files.update({w.item_id: w.file for w in works})
            observer.found(manifest.count_found(SOURCE))
        new = 0
        for row in manifest.pending(SOURCE, after_seq=0, limit=1_000_000):
            status = settle_work(manifest, out, row, files.get(row.item_id),
                                 min_size_px=settings.filter.min_size_px,
                                 svg_width_px=settings.debian_art.svg_width_px)
            new += status == "downloaded"
            observer.settled(status)
        f = settings.filter
        dedupe = decide_duplicates(manifest, near_bits=f.near_duplicate_bits,
                                   colour_tolerance=f.near_duplicate_colour)
        return CrawlSummary(crawl=SOURCE, found=manifest.count_found(SOURCE),
                            downloaded=manifest.count_downloaded(crawl=SOURCE),
                            statuses=manifest.counts(crawl=SOURCE), listing_errors=tuple(errors),
                            new_downloads=new, elapsed_s=time.monotonic() - began, dedupe=dedupe)


Listing = tuple[str, str, Callable[[], Iterator[Work]]]  # kind, item_id prefix, the works


def _listings(settings: DebianArtSettings, rules: dict[str, PackageRule],
              packages: Path) -> dict[str, Listing]:
    """Every listing task of this scrape by key: one per package, and the fractal renders."""
    listings: dict[str, Listing] = {
        f"package:{name}": (rule.kind, f"{name}/",
                            lambda rule=rule: find_works(rule, *fetch_package(rule.name, packages)))
        for name, rule in rules.items()}
    if "fractal" in settings.kinds and settings.fractal_cache is not None:
        listings["fractals"] = ("fractal", f"{FRACTAL_PACKAGE}/",
                                lambda: fractal_works(Path(settings.fractal_cache), packages))
    return listings


def fractal_works(cache: Path, packages: Path) -> Iterator[Work]:
    """The renders in a `gansmania fractals render` cache, as works of the scenes' package
    (authors and licence from its copyright file); the cache may be growing meanwhile."""
    from scraping.fractals import cached_renders, list_scenes

    if not (cache / "index.jsonl").is_file():
        raise GansmaniaError(f"debian_art.fractal_cache = {cache}: no index.jsonl there; render "
                             "into it first with `gansmania fractals render`")
    tree, version = fetch_package(FRACTAL_PACKAGE, packages)
    examples = tree / FRACTAL_EXAMPLES
    scenes = list_scenes(examples)
    for render in sorted(cached_renders(scenes, cache), key=lambda r: (r.scene, r.view)):
        path = f"{FRACTAL_EXAMPLES}/{render.scene}#view{render.view}"
        yield Work(package=FRACTAL_PACKAGE, version=version, path=path, file=render.png,
                   author=render.author, licence=render.licence,
                   title=f"{Path(render.scene).stem} (view {render.view}, {render.collection})")


def selected_rules(settings: DebianArtSettings) -> dict[str, PackageRule]:
    """The catalogue's packages that the settings ask for, of the kinds asked for."""
    rules = load_catalogue(settings.catalogue or CATALOGUE)
    kinds = {rule.kind for rule in rules.values()} | {"fractal"}
    for kind in settings.kinds:
        if kind not in kinds:
            raise ConfigError(f"debian_art.kinds: {kind!r} is not a kind; allowed: "
                              f"{', '.join(sorted(kinds))}")
    unknown = sorted(set(settings.packages) - set(rules))
    if unknown:
        raise ConfigError(f"debian_art.packages: {', '.join(unknown)} not in the reviewed list "
                          f"{settings.catalogue or CATALOGUE}; allowed: {', '.join(rules)}")
    names = settings.packages or tuple(rules)
    return {n: rules[n] for n in names if rules[n].kind in settings.kinds}


def _exclude_dropped(manifest: Manifest, prefix: str, selected: set[str]) -> None:
    """Follow an edited list: works it no longer selects are excluded, works it selects again
    are pending again (their bytes were not kept, so they are stored anew)."""
    for row in manifest.rows(where="source = ? AND item_id LIKE ?", params=(SOURCE, f"{prefix}%")):
        if row.item_id not in selected and row.status != "excluded":
            manifest.settle(row.seq, Stored("excluded", "dropped by the reviewed package list"))
        elif row.item_id in selected and row.status == "excluded":
            manifest.settle(row.seq, Stored("pending"))


def _item(work: Work, kind: str) -> dict:
    return {"source": SOURCE, "item_id": work.item_id, "status": "pending", "reason": None,
            "title": work.title or Path(work.path).stem.replace("_", " "), "artist": work.author,
            "date": None, "licence": work.licence,
            "page_url": f"debian:{work.package}={work.version} ({kind})",
            "image_url": work.path, "detail_url": None}


def settle_work(manifest: Manifest, out: Path, row: Row, file: Path | None, *,
                min_size_px: int, svg_width_px: int) -> str:
    """Store one listed work (copied, or drawn when an SVG) and record it; returns its status."""
    if file is None or not file.is_file():
        return _settle(manifest, row, Stored("failed", "its file is gone (delete packages/ to "
                                             "unpack again; a fractal render left its cache)"))
    if not licence_compatible(row.licence):
        return _settle(manifest, row, Stored("licence", f"licence {row.licence!r} cannot be "
                                             "carried by GPL-3.0-or-later weights"))
    staging = out / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    svg = file.suffix.lower() == ".svg"
    staged = staging / f"{row.seq}{'.png' if svg else file.suffix.lower()}"
    try:
        if svg:
            try:
                render_svg(file, staged, width_px=svg_width_px)
            except GansmaniaError as exc:
                return _settle(manifest, row, Stored("corrupt", str(exc)))
        else:
            shutil.copyfile(file, staged)
        facts = inspect_image(staged, min_size_px=min_size_px)
        if isinstance(facts, Rejection):
            return _settle(manifest, row, Stored(facts.status, facts.reason))
        with open(staged, "rb") as handle:
            sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
        relative = f"images/{sha256[:2]}/{sha256}.{facts.suffix}"
        size = staged.stat().st_size
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, out / relative)
    finally:
        staged.unlink(missing_ok=True)
    return _settle(manifest, row, Stored(
        "downloaded", None, sha256=sha256, phash=facts.phash, colour=facts.colour,
        width=facts.width, height=facts.height, bytes=size, format=facts.format,
        path=relative), downloaded=True)


def _settle(manifest: Manifest, row: Row, stored: Stored, *, downloaded: bool = False) -> str:
    manifest.settle(row.seq, stored, downloaded=downloaded)
    log.debug("%s: %s %s", row.key, stored.status, stored.reason or "")
    return stored.status


def render_svg(svg: Path, png: Path, *, width_px: int) -> None:
    """Draw an SVG with librsvg (filters included) to a PNG ``width_px`` wide."""
    if shutil.which("rsvg-convert") is None:
        raise GansmaniaError(f"{svg}: rsvg-convert is needed to draw SVGs (Debian package "
                             "librsvg2-bin)")
    try:
        done = subprocess.run(["rsvg-convert", "--width", str(width_px), "--keep-aspect-ratio",
                               "--output", str(png), str(svg)], capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise GansmaniaError(f"{svg}: rsvg-convert took over {COMMAND_TIMEOUT_S} s") from None
    if done.returncode != 0:
        raise GansmaniaError(f"{svg}: rsvg-convert failed ({' '.join(done.stderr.split())[:200]})")
