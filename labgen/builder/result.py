"""What a build returns: each image (built now or found by content hash) and what was chosen, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labgen.builder.haproxy_source import HAProxySource
from labgen.model.names import Flavour


@dataclass(frozen=True)
class ImageBuild:
    """One image: built now or found in the cache."""

    name: str  # "base", "haproxy", "nfs", "jenkins"
    tag: str
    image_id: str
    cached: bool
    seconds: float
    size: int  # bytes
    content_hash: str


@dataclass
class BuildResult:
    # in build order: base, haproxy, nfs, (base-bullseye for the real Jenkins on Debian's Java,) jenkins
    images: list[ImageBuild] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)  # service -> tag, as image_tags()
    haproxy_version: str = ""  # the version actually built (may differ from the lab's)
    haproxy_source: HAProxySource | None = None  # where it came from, and why (str() says it)
    flavour: Flavour = "lite"  # the Jenkins flavour built
    flavour_reason: str = ""

    @property
    def by_tag(self) -> dict[str, ImageBuild]:
        return {image.tag: image for image in self.images}

    @property
    def built(self) -> list[str]:
        return [image.tag for image in self.images if not image.cached]

    @property
    def cached(self) -> list[str]:
        return [image.tag for image in self.images if image.cached]

    def to_json(self) -> dict[str, Any]:
        source = self.haproxy_source
        return {
            "images": [
                {
                    "name": image.name,
                    "tag": image.tag,
                    "id": image.image_id,
                    "cached": image.cached,
                    "seconds": round(image.seconds, 1),
                    "size": image.size,
                    "content_hash": image.content_hash,
                }
                for image in self.images
            ],
            "tags": dict(self.tags),
            "haproxy": {
                "version": self.haproxy_version,
                "requested": source.requested if source else None,
                "source": source.origin if source else None,
                "sha256": source.sha256 if source else None,
                "debian_version": source.debian_version if source else None,
                "reason": source.reason if source else None,
            },
            "jenkins": {"flavour": self.flavour, "reason": self.flavour_reason},
        }
