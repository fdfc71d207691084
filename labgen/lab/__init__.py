"""Stage 4, the lab: the one gateway to a running lab (Docker, Compose, its folder), rebuilt
from its name: `runtime` (up, down, status, logs), `handle` (a running lab), `doctor`."""
