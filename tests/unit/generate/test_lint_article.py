"""The article's haproxy.cfg, as labgen ships it (`labgen lint`), is the seed article's text line
for line. The seed (shared/seed/*.txt beside the repository) lost its line breaks and its
backslashes when it was captured, so the comparison is by whitespace-separated words, in order,
with each line of article-original.cfg a run of consecutive words of the seed's config block."""

from __future__ import annotations

from pathlib import Path

import pytest

from labgen.generate.lint import article_config

SEED_DIR = Path(__file__).resolve().parents[4] / "shared" / "seed"
BLOCK_START = "/etc/haproxy/haproxy.cfg"  # "#生成配置文件/etc/haproxy/haproxy.cfg" (generate the config file)
BLOCK_END = "#啟動服務"  # "start the service": the next step of the article


def _seed_config_words() -> list[str]:
    seeds = sorted(SEED_DIR.glob("*.txt")) if SEED_DIR.is_dir() else []
    for seed in seeds:
        text = seed.read_text(encoding="utf-8")
        if BLOCK_START in text and BLOCK_END in text:
            block = text.split(BLOCK_START, 1)[1].split(BLOCK_END, 1)[0]
            return block.split()
    pytest.skip(f"the article's seed text is not at {SEED_DIR} (CI keeps a copy of shared/ beside the repo)")


def _words(line: str) -> list[str]:
    # `reqadd X-Forwarded-Proto:\ http`: the seed lost every backslash (it has none at all), so an
    # escaped space compares as a plain one. HAProxy 2.0 refuses the unescaped form as fatal
    # ("Expecting nothing, 'if', or 'unless', got 'http'"), so the published config had the escape.
    return line.replace("\\ ", " ").split()


def test_article_original_cfg_is_the_seed_config_line_for_line() -> None:
    seed = _seed_config_words()
    position = 0
    for number, line in enumerate(article_config().splitlines(), start=1):
        words = _words(line)
        if not words:
            continue
        found = seed[position : position + len(words)]
        assert found == words, f"article-original.cfg line {number} {line.strip()!r}: the seed has {' '.join(found)!r}"
        position += len(words)
    assert position == len(seed), f"the seed's config goes on: {' '.join(seed[position:])!r}"


def test_the_global_section_keeps_node_http() -> None:
    lines = [line.strip() for line in article_config().splitlines()]
    assert lines[lines.index("uid 200") : lines.index("uid 200") + 3] == ["uid 200", "node http", "gid 200"]
