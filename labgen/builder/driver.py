"""One image build: found in the engine by its content hash, or built from its recipe, with progress
events and the failure's last lines when it fails."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from labgen.builder.buildkit import BuildRequest, start_build
from labgen.builder.context import context_hash, context_tar
from labgen.builder.options import BuildOptions
from labgen.builder.progress import BuildOutput
from labgen.builder.recipes import Recipe
from labgen.builder.result import ImageBuild
from labgen.errors import BuildFailed, LabgenError
from labgen.events import Emitter
from labgen.model.names import CONTENT_HASH_LABEL

if TYPE_CHECKING:
    import docker


def cached_image(client: docker.DockerClient, tag: str, content_hash: str) -> Any:
    """The engine's image ``tag`` when it carries ``content_hash``, else None."""
    import docker.errors

    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    labels = image.attrs.get("Config", {}).get("Labels") or {}
    return image if labels.get(CONTENT_HASH_LABEL) == content_hash else None


def build_image(
    client: docker.DockerClient, recipe: Recipe, base: ImageBuild, options: BuildOptions, emitter: Emitter
) -> ImageBuild:
    """Build one image, or find it by content hash (``options.plan_only``: only look)."""
    name, tag = recipe.name, recipe.tag
    content_hash = context_hash(recipe.entries, recipe.buildargs, base.image_id, recipe.dockerfile)
    cached = None if options.rebuild else cached_image(client, tag, content_hash)
    if cached is not None:
        emitter.emit("build.cached", f"{tag}: up to date", image=name, tag=tag)
        return ImageBuild(name, tag, cached.id, True, 0.0, int(cached.attrs.get("Size", 0)), content_hash)
    if options.plan_only:
        return ImageBuild(name, tag, "", False, 0.0, 0, content_hash)
    emitter.emit("build.start", f"{tag}: building" + (f" ({recipe.note})" if recipe.note else ""), image=name, tag=tag)
    started = time.monotonic()
    request = BuildRequest(
        tag,
        recipe.dockerfile,
        recipe.buildargs,
        {CONTENT_HASH_LABEL: content_hash},
        options.rebuild,
        options.network_mode,
        recipe.cpu_shares,
    )
    image_id = _run_build(client, recipe, request, emitter)
    image = client.images.get(tag)
    if image_id and image.id != image_id:
        raise BuildFailed(f"building {tag}: the tag points at {image.id}, not the image just built ({image_id})")
    seconds = time.monotonic() - started
    emitter.emit("build.done", f"{tag}: built in {seconds:.0f} s", "done", image=name, tag=tag, seconds=seconds)
    return ImageBuild(name, tag, image.id, False, seconds, int(image.attrs.get("Size", 0)), content_hash)


def _run_build(client: docker.DockerClient, recipe: Recipe, request: BuildRequest, emitter: Emitter) -> str | None:
    """Send the context, relay the output as events; the built image's id when the engine says it."""
    name, tag = recipe.name, recipe.tag
    image_id = None
    tail: list[str] = []
    context = context_tar(recipe.entries)
    try:
        stream = start_build(client, context, request, emitter)
        trace = BuildOutput()
        for chunk in stream:
            if "error" in chunk:
                detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                raise BuildFailed(
                    f"building {tag} failed: {str(detail).strip()}",
                    hint="last build output:\n    " + "\n    ".join(tail[-15:]) if tail else None,
                )
            aux = chunk.get("aux")
            if isinstance(aux, dict) and "ID" in aux:
                image_id = aux["ID"]
            for line, step in trace.lines(chunk):
                tail = [*tail, line][-40:]
                emitter.emit("build.progress", f"{tag}: {line}", image=name, tag=tag, line=line, step=step)
    except LabgenError:
        raise
    except Exception as exc:
        raise BuildFailed(f"building {tag} failed: {exc}") from None
    finally:
        context.close()
    return image_id
