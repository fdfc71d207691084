"""Stage 2, generate: a `Topology` rendered into a lab folder (compose.yaml, haproxy.cfg,
ganesha.conf, secrets.env), and `lint`, which explains what is wrong with an HAProxy config."""

from labgen.generate.render import RenderedLab, generate, render_files

__all__ = ["RenderedLab", "generate", "render_files"]
