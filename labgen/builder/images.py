"""Build the lab's images from nothing, offline: base, HAProxy, NFS server, Jenkins.

No image is pulled: the base is a Debian root file system (`labgen.builder.base`); every other image
starts ``FROM`` it and installs Debian packages in ``RUN`` steps (the builds' containers reach the
Debian mirrors over the default bridge network, like any container here).

Each image carries ``org.labgen.content-hash``: a hash of its build context's files, build
arguments, source checksums and the base image's id. When an image with the tag and that
label exists, it is not built again.

What does not depend on each other is done at once (`Jobs`): the base, the HAProxy source and
the Jenkins flavour; then HAProxy, the NFS server and Jenkins (the real one on a Debian 11 base, made
once the flavour is known). Images are built by the engine's
BuildKit (through its API; ``LABGEN_BUILDER=classic`` for the classic builder), which runs a
Dockerfile's stages at once and does not commit a layer per instruction.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from labgen.builder.base import BULLSEYE, ensure_base
from labgen.builder.context import images_root
from labgen.builder.driver import build_image
from labgen.builder.flavour import choose_jenkins
from labgen.builder.haproxy_source import resolve_haproxy_source
from labgen.builder.jobs import Jobs, SerialEmitter
from labgen.builder.options import BuildOptions
from labgen.builder.recipes import haproxy_recipe, jenkins_recipe, nfs_recipe
from labgen.builder.result import BuildResult, ImageBuild
from labgen.engine import client as engine_client
from labgen.events import NULL_EMITTER, Emitter
from labgen.model.names import HAPROXY, JENKINS_IMAGE, NFS, ImageTags
from labgen.model.spec import LabSpec

if TYPE_CHECKING:
    import docker


def build_images(
    lab: LabSpec,
    options: BuildOptions | None = None,
    *,
    emitter: Emitter = NULL_EMITTER,
    client: docker.DockerClient | None = None,
) -> BuildResult:
    """Build (or find cached) every image ``lab`` needs.

    What does not depend on each other runs at once (`Jobs`): the base image, the HAProxy
    source and the Jenkins flavour; then HAProxy, the NFS server and Jenkins, each as soon as
    what it needs is there (a ``build.wait`` event says what an image waits for).
    """
    options = options or BuildOptions()
    tags = ImageTags.of(os.environ)  # the namespace this process's environment names
    client = client or engine_client()
    root = images_root()
    emitter = SerialEmitter(emitter)
    jobs = Jobs(emitter)
    base = jobs.spawn("the base image", ensure_base, client, options, emitter, tags)
    source = jobs.spawn(
        "the HAProxy source",
        resolve_haproxy_source,
        lab.haproxy.version,
        explicit=options.haproxy_source,
        timeout=options.download_timeout,
        allow_unofficial=options.allow_unofficial,
        emitter=emitter,
    )
    choice = jobs.spawn("the Jenkins flavour", choose_jenkins, lab, options, emitter)

    def haproxy() -> ImageBuild:
        found, base_image = jobs.wait("HAProxy", source, base)
        return build_image(client, haproxy_recipe(root, found, tags), base_image, options, emitter)

    def nfs() -> ImageBuild:
        (base_image,) = jobs.wait("the NFS server", base)
        return build_image(client, nfs_recipe(root, tags), base_image, options, emitter)

    def jenkins() -> list[ImageBuild]:
        """The Jenkins image, after the Debian 11 base when the real one runs on Debian's Java."""
        chosen, base_image = jobs.wait("Jenkins", choice, base)
        built = [ensure_base(client, options, emitter, tags, BULLSEYE)] if chosen.on_debian_java else []
        recipe = jenkins_recipe(root / "jenkins", lab, chosen, tags)
        return [*built, build_image(client, recipe, built[0] if built else base_image, options, emitter)]

    others = [jobs.spawn(HAPROXY, haproxy), jobs.spawn(NFS, nfs)]
    jenkins_images = jobs.spawn(JENKINS_IMAGE, jenkins)
    result = BuildResult(images=[base.result(), *(job.result() for job in others), *jenkins_images.result()])
    found = source.result()
    result.haproxy_source, result.haproxy_version = found, found.version
    result.flavour, result.flavour_reason = choice.result().flavour, choice.result().reason
    result.tags = {image.name: image.tag for image in result.images}
    return result
