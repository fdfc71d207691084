"""Stage 3, build: every image from nothing, offline, cached by content; `build_images` returns
what it built (tags, the HAProxy version and Jenkins flavour actually produced, and why)."""

from labgen.build.images import BuildResult, ImageBuild, build_images

__all__ = ["BuildResult", "ImageBuild", "build_images"]
