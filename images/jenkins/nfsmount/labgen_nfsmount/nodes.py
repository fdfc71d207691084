"""The kernel's inodes as our FUSE server knows them (kernelfuse.py): node id -> path, with lookup counts."""

from __future__ import annotations

import errno
import threading
from dataclasses import dataclass, field

from labgen_nfsmount import fuseproto as fp


@dataclass
class Node:
    path: str | None
    lookups: int = 0
    is_dir: bool = False
    opened: int = 0  # open file handles
    hidden: bool = False


@dataclass
class NodeTable:
    """The kernel's inodes: node id -> path, with the kernel's lookup counts (FORGET drops them)."""

    nodes: dict[int, Node] = field(default_factory=lambda: {fp.ROOT_ID: Node("/", 1, True)})
    by_path: dict[str, int] = field(default_factory=lambda: {"/": fp.ROOT_ID})
    next_id: int = fp.ROOT_ID + 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    def path(self, nodeid: int) -> str:
        with self.lock:
            node = self.nodes.get(nodeid)
            if node is None or node.path is None:
                raise OSError(errno.ENOENT, "no such inode")
            return node.path

    def looked_up(self, path: str, is_dir: bool) -> int:
        """The node of `path`, one more lookup of it counted (a LOOKUP, CREATE, MKDIR... reply)."""
        with self.lock:
            nodeid = self.by_path.get(path)
            if nodeid is None:
                nodeid = self.next_id
                self.next_id += 1
                self.nodes[nodeid] = Node(path)
                self.by_path[path] = nodeid
            node = self.nodes[nodeid]
            node.lookups += 1
            node.is_dir = is_dir
            return nodeid

    def node_of(self, path: str) -> int | None:
        with self.lock:
            return self.by_path.get(path)

    def forget(self, nodeid: int, count: int) -> None:
        with self.lock:
            node = self.nodes.get(nodeid)
            if node is None or nodeid == fp.ROOT_ID:
                return
            node.lookups -= count
            if node.lookups <= 0 and node.opened <= 0:
                del self.nodes[nodeid]
                if node.path is not None and self.by_path.get(node.path) == nodeid:
                    del self.by_path[node.path]

    def detach(self, path: str) -> None:
        """`path` is gone (unlinked, removed, replaced): its node keeps no name."""
        with self.lock:
            nodeid = self.by_path.pop(path, None)
            if nodeid is not None:
                self.nodes[nodeid].path = None

    def moved(self, old: str, new: str) -> None:
        """A rename: the node of `old` (and, for a directory, those below it) now goes by `new`."""
        with self.lock:
            replaced = self.by_path.pop(new, None)
            if replaced is not None:
                self.nodes[replaced].path = None
            nodeid = self.by_path.pop(old, None)
            if nodeid is None:
                return
            node = self.nodes[nodeid]
            node.path = new
            self.by_path[new] = nodeid
            if node.is_dir:
                prefix = old.rstrip("/") + "/"
                for other in [p for p in self.by_path if p.startswith(prefix)]:
                    below = self.by_path.pop(other)
                    renamed = new.rstrip("/") + "/" + other[len(prefix) :]
                    self.nodes[below].path = renamed
                    self.by_path[renamed] = below
