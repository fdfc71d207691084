"""Stage 3, build: every image from nothing, offline, cached by content; `build_images` returns
what it built (tags, the HAProxy version and Jenkins flavour actually produced, and why).

One module per concern: `options` (how to build), `images` (the entry point and its schedule,
`jobs`), `base` (mmdebstrap), `recipes` (each image's context), `context` (files, hash, tar),
`driver` (one build, cached by content), `buildkit` and `progress` (the engine's builders and
their output); where the inputs come from: `downloads` (the cache), `haproxy_source`,
`debian_source`, `apt_sources`, `jenkins_sources`, `flavour`, and `provenance` (official or not);
`store` (the engine's images and a file a CI cache keeps).
"""

from labgen.builder.images import build_images
from labgen.builder.options import BuildOptions
from labgen.builder.result import BuildResult, ImageBuild

__all__ = ["BuildOptions", "BuildResult", "ImageBuild", "build_images"]
