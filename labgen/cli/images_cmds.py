"""`labgen images list|key|save|load|prune`: labgen's images in the engine, and in a file a CI cache keeps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from labgen.builder import store
from labgen.cli.app import app, out
from labgen.cli.options import JsonOpt, SpecArgs, input_file, spec_options
from labgen.cli.output import print_json, progress
from labgen.errors import LabgenError, SpecError
from labgen.paths import check_output_folder, user_path

images_app = typer.Typer(
    help="labgen's images: list them, save them to a file for a CI cache, load them back, prune old ones.",
    no_args_is_help=True,
)
app.add_typer(images_app, name="images", rich_help_panel="run")

# the spec options that choose images (the rest of the spec does not change them)
IMAGE_SPEC_OPTIONS = ("profile", "haproxy_version", "jenkins_flavour")
FileArg = Annotated[Path, typer.Argument(help="The image file (a tar: docker save plus labgen's manifest).")]


@images_app.command("list")
@spec_options(*IMAGE_SPEC_OPTIONS)
def list_images(json_output: JsonOpt = False, *, spec_args: SpecArgs) -> None:
    """labgen's images: tag, id, content hash, size, and whether the current spec needs it."""
    report = store.list_images(spec_args.load())
    if json_output:
        print_json(report.to_json())
        return
    table = Table("tag", "id", "content hash", "size", "needed", title="labgen images")
    for image in report.images:
        table.add_row(
            ", ".join(image.tags) or "<none>",
            image.id[7:19] if image.id else "[yellow]missing[/]",
            image.content_hash[:12] or "-",
            f"{image.size / 1e6:.0f} MB" if image.id else "-",
            "yes" if image.needed else "no",
        )
    out.print(table)
    if report.missing:
        out.print(f"[yellow]not built (or out of date):[/] {', '.join(report.missing)}; `labgen build` builds them")


@images_app.command("key")
@spec_options(*IMAGE_SPEC_OPTIONS)
def key(json_output: JsonOpt = False, *, spec_args: SpecArgs) -> None:
    """A cache key for the images the spec needs, from what determines them (no Docker needed)."""
    value = store.images_key(spec_args.load())
    if json_output:
        print_json({"key": value})
    else:
        out.print(value, highlight=False)


@images_app.command("save")
@spec_options(*IMAGE_SPEC_OPTIONS)
def save(file: FileArg, json_output: JsonOpt = False, *, spec_args: SpecArgs) -> None:
    """docker save the images the spec needs into FILE, with each one's content hash."""
    target = user_path(str(file), "FILE")  # before Docker: a bad path is bad input (missing folders are made)
    if target.is_dir():
        raise SpecError(f"FILE {target}: is a folder; give a file name (e.g. {target / 'images.tar'})")
    check_output_folder(target.parent, "FILE")
    lab = spec_args.load()
    with progress(quiet=json_output) as emitter:
        result = store.save_images(lab, file, emitter=emitter)
    if json_output:
        print_json(
            {
                "file": str(result.file),
                "bytes": result.bytes,
                "seconds": round(result.seconds, 1),
                "key": result.key,
                "images": result.images,
            }
        )
        return
    out.print(f"saved {len(result.images)} images ({result.bytes / 1e6:.0f} MB) to {result.file}", markup=False)


@images_app.command("load")
def load(file: FileArg, json_output: JsonOpt = False) -> None:
    """docker load FILE, then check that each image has the id and content hash the file records."""
    given = input_file("FILE", str(file))  # before Docker: a missing or foreign file is bad input (exit 2)
    assert given is not None
    try:
        store.read_manifest(given)
    except LabgenError as exc:
        raise SpecError(exc.message, hint=exc.hint) from None
    with progress(quiet=json_output) as emitter:
        result = store.load_images(file, emitter=emitter)
    if json_output:
        print_json(
            {
                "file": str(result.file),
                "seconds": round(result.seconds, 1),
                "key": result.key,
                "images": result.images,
                "already_present": result.already,
            }
        )
        return
    tags = ", ".join(image["tag"] for image in result.images)
    out.print(f"loaded and checked {len(result.images)} images in {result.seconds:.0f} s: {tags}", markup=False)


@images_app.command("prune")
@spec_options(*IMAGE_SPEC_OPTIONS)
def prune(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be removed.")] = False,
    json_output: JsonOpt = False,
    *,
    spec_args: SpecArgs,
) -> None:
    """Remove labgen's images the current spec's build does not use (images in use are kept)."""
    with progress(quiet=json_output) as emitter:
        result = store.prune_images(spec_args.load(), emitter=emitter, dry_run=dry_run)
    if json_output:
        print_json({**vars(result), "dry_run": dry_run})
        return
    verb = "would remove" if dry_run else "removed"
    out.print(f"{verb} {len(result.removed)} images ({result.freed / 1e6:.0f} MB); kept {len(result.kept)}")
    for name in result.removed:
        out.print(f"  {verb}: {name}")
    for name in result.in_use:
        out.print(f"  [yellow]in use by a container, kept:[/] {name}")
