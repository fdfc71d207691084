"""Host test of images/jenkins/nfsmount/labgen_nfsmount (no Docker).

Starts nfs-ganesha (FSAL VFS, NFSv4 only, 127.0.0.1, a free port) exporting
a temporary directory on a real file system, mounts the export twice with
python3 -m labgen_nfsmount (mount A in the foreground, mount B daemonized), and checks
that both mounts and the exported directory agree, that the usual file
operations work, that the mounts survive a server restart and that SIGTERM
unmounts.  Needs root, /dev/fuse, ganesha.nfsd (+ nfs-ganesha-vfs), libnfs13
and a Python with fusepy (Debian: python3-fusepy).
"""

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# python3 -m labgen_nfsmount, with the package's folder and the checkout (labgen.wire) on PYTHONPATH,
# as /opt/labgen in the image (the mount may run under /usr/bin/python3, which has no labgen installed)
MOUNT_PYTHONPATH = [os.path.join(REPO, "images", "jenkins", "nfsmount"), REPO]
GANESHA = shutil.which("ganesha.nfsd") or ("/usr/bin/ganesha.nfsd" if os.path.exists("/usr/bin/ganesha.nfsd") else None)
PSEUDO = "/jenkins"


# ---------------------------------------------------------------------------
# prerequisites
# ---------------------------------------------------------------------------


def _python_with_fusepy():
    code = (
        "import importlib,sys\n"
        "for n in ('fusepy','fuse'):\n"
        "    try:\n"
        "        m=importlib.import_module(n)\n"
        "    except ImportError:\n"
        "        continue\n"
        "    if hasattr(m,'FUSE') and hasattr(m,'Operations'):\n"
        "        sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    for py in (sys.executable, "/usr/bin/python3"):
        if py and os.path.exists(py):
            try:
                if (
                    subprocess.call([py, "-c", code], timeout=30, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    == 0
                ):
                    return py
            except (OSError, subprocess.TimeoutExpired):
                pass
    return None


def _libnfs_ok():
    try:
        ctypes.CDLL("libnfs.so.13")
        return True
    except OSError:
        return False


def _fs_type(path):
    """File system type of the mount holding path (from /proc/self/mounts)."""
    path = os.path.realpath(path)
    best, fstype = "", "?"
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) < 3:
                continue
            mnt = fields[1].replace("\\040", " ")
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, fstype = mnt, fields[2]
    return fstype


def _base_dir():
    """A directory on a file system ganesha's VFS FSAL can export."""
    for cand in ("/var/tmp", "/tmp", tempfile.gettempdir()):
        if (
            os.path.isdir(cand)
            and os.access(cand, os.W_OK)
            and _fs_type(cand) not in ("overlay", "tmpfs", "fuse", "aufs", "?")
        ):
            return cand
    return None


def _skip_reason():
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing (no FUSE on this machine)"
    if GANESHA is None:
        return "ganesha.nfsd is missing (apt-get install nfs-ganesha nfs-ganesha-vfs)"
    if os.geteuid() != 0:
        return "needs root (ganesha's VFS FSAL needs CAP_DAC_READ_SEARCH, FUSE mounts need CAP_SYS_ADMIN)"
    if not _libnfs_ok():
        return "libnfs.so.13 is missing (apt-get install libnfs13)"
    if _python_with_fusepy() is None:
        return "no Python with fusepy (apt-get install python3-fusepy)"
    if _base_dir() is None:
        return "no writable directory on a real file system (ganesha's VFS FSAL cannot export overlay/tmpfs)"
    return None


_SKIP = _skip_reason()
pytestmark = pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return f"(no {path})"


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def _unmount(mnt):
    for args in (
        ["fusermount", "-u", mnt],
        ["fusermount3", "-u", mnt],
        ["umount", mnt],
        ["fusermount", "-u", "-z", mnt],
        ["umount", "-l", mnt],
    ):
        if not os.path.ismount(mnt):
            return
        if shutil.which(args[0]):
            subprocess.call(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
            time.sleep(0.1)


class Lab:
    """ganesha + two labgen_nfsmount mounts in a temporary directory, both with the caching options
    `options` (-o, as for mount.nfs)."""

    def __init__(self, options="noac", fuse="kernel"):
        self.options = options
        self.fuse = fuse  # the mount's FUSE server: kernel (ours, /dev/fuse) or libfuse (fusepy)
        self.python = _python_with_fusepy()
        self.root = tempfile.mkdtemp(prefix="labgen-nfsmount-", dir=_base_dir())
        self.export = os.path.join(self.root, "export")
        self.mnt_a = os.path.join(self.root, "mnt-a")
        self.mnt_b = os.path.join(self.root, "mnt-b")
        for d in (self.export, self.mnt_a, self.mnt_b, os.path.join(self.root, "recovery")):
            os.makedirs(d)
        os.chmod(self.root, 0o755)
        self.port = _free_port()
        self.url = f"nfs://127.0.0.1{PSEUDO}?version=4&nfsport={self.port}"
        self.conf = os.path.join(self.root, "ganesha.conf")
        self.ganesha_log = os.path.join(self.root, "ganesha.log")
        with open(self.conf, "w") as f:
            f.write(
                """
NFS_CORE_PARAM {
    Protocols = 4;
    NFS_Port = %(port)d;
    Bind_addr = 127.0.0.1;
    Enable_NLM = false;
    Enable_RQUOTA = false;
}
NFSv4 {
    Graceless = true;
    RecoveryRoot = %(root)s/recovery;
}
EXPORT {
    Export_Id = 77;
    Path = %(export)s;
    Pseudo = %(pseudo)s;
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    Protocols = 4;
    Transports = TCP;
    FSAL { Name = VFS; }
}
"""  # noqa: UP031 -- a config template full of literal braces
                % dict(port=self.port, root=self.root, export=self.export, pseudo=PSEUDO)
            )
        self.ganesha = None
        self.proc_a = None
        self.ganesha_starts = 0

    # -- ganesha --
    def start_ganesha(self):
        assert GANESHA is not None  # the module is skipped without it
        self.ganesha_starts += 1
        with open(os.path.join(self.root, "ganesha.out"), "ab") as out:
            self.ganesha = subprocess.Popen(
                [
                    GANESHA,
                    "-F",
                    "-L",
                    self.ganesha_log,
                    "-f",
                    self.conf,
                    "-p",
                    os.path.join(self.root, "ganesha.pid"),
                    "-N",
                    "NIV_EVENT",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while not _port_open(self.port):
            if self.ganesha.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("ganesha did not start:\n" + _tail(self.ganesha_log))
            time.sleep(0.1)

    def stop_ganesha(self):
        if self.ganesha is not None and self.ganesha.poll() is None:
            self.ganesha.terminate()
            try:
                self.ganesha.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.ganesha.kill()
                self.ganesha.wait(timeout=10)
        self.ganesha = None

    # -- mounts --
    def mount_args(self, mnt, *extra):
        return [
            self.python,
            "-m",
            "labgen_nfsmount",
            self.url,
            mnt,
            "--wait",
            "20",
            "--retry-window",
            "30",
            "--timeout",
            "5",
            "-o",
            self.options,
            "--fuse",
            self.fuse,
            *list(extra),
        ]

    def mount_env(self):
        extra = os.environ.get("PYTHONPATH")
        return {**os.environ, "PYTHONPATH": os.pathsep.join(MOUNT_PYTHONPATH + ([extra] if extra else []))}

    def mount_a(self):
        """Mount A: foreground, so this test owns the process."""
        with open(os.path.join(self.root, "mount-a.log"), "ab") as log:
            self.proc_a = subprocess.Popen(
                self.mount_args(self.mnt_a, "--foreground"),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self.mount_env(),
            )
        deadline = time.monotonic() + 30
        while not os.path.ismount(self.mnt_a):
            if self.proc_a.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("mount A failed:\n" + _tail(os.path.join(self.root, "mount-a.log")))
            time.sleep(0.1)

    def mount_b(self):
        """Mount B: default mode, goes to the background once mounted."""
        with open(os.path.join(self.root, "mount-b.log"), "ab") as log:
            rc = subprocess.call(
                self.mount_args(self.mnt_b),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                timeout=60,
                env=self.mount_env(),
            )
        assert rc == 0, _tail(os.path.join(self.root, "mount-b.log"))
        assert os.path.ismount(self.mnt_b)

    def logs(self):
        return "\n".join(
            f"--- {n}\n{_tail(os.path.join(self.root, n))}" for n in ("mount-a.log", "mount-b.log", "ganesha.log")
        )

    def teardown(self):
        for mnt in (self.mnt_a, self.mnt_b):
            with contextlib.suppress(Exception):
                _unmount(mnt)
        if self.proc_a is not None and self.proc_a.poll() is None:
            self.proc_a.terminate()
            try:
                self.proc_a.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc_a.kill()
        self.stop_ganesha()
        if not any(os.path.ismount(m) for m in (self.mnt_a, self.mnt_b)):
            shutil.rmtree(self.root, ignore_errors=True)


FUSE_SERVERS = ["kernel", "libfuse"]  # our own /dev/fuse server, and libfuse's (not root: fusermount)


@pytest.fixture(scope="module", params=FUSE_SERVERS)
def lab(request):
    # noac: every change of one mount is seen by the other at once, as on a kernel mount with noac
    lab = Lab("noac", request.param)
    try:
        lab.start_ganesha()
        lab.mount_a()
        lab.mount_b()
        yield lab
    finally:
        lab.teardown()


# ---------------------------------------------------------------------------
# tests (run in this order; the restart and SIGTERM tests come last)
# ---------------------------------------------------------------------------


def test_mounted_as_fuse(lab):
    with open("/proc/self/mounts") as f:
        mounts = f.read()
    for mnt in (lab.mnt_a, lab.mnt_b):
        line = [ln for ln in mounts.splitlines() if f" {mnt} " in ln]
        assert line, f"{mnt} not in /proc/self/mounts"
        assert " fuse.labgen_nfs " in line[0], line[0]
    st = os.statvfs(lab.mnt_a)
    assert st.f_blocks > 0 and st.f_bsize > 0


def test_write_visible_on_disk_and_other_mount(lab):
    data = b"written through mount A\n" * 100 + os.urandom(70000)
    _write(os.path.join(lab.mnt_a, "a.bin"), data)
    assert _read(os.path.join(lab.export, "a.bin")) == data
    assert _read(os.path.join(lab.mnt_b, "a.bin")) == data
    # and the other way round, with an overwrite of the same size
    new = data[::-1]
    _write(os.path.join(lab.mnt_b, "a.bin"), new)
    assert _read(os.path.join(lab.mnt_a, "a.bin")) == new
    assert _read(os.path.join(lab.export, "a.bin")) == new
    assert os.stat(os.path.join(lab.mnt_a, "a.bin")).st_size == len(new)


def test_namespace_operations(lab):
    a, b, disk = lab.mnt_a, lab.mnt_b, lab.export
    os.makedirs(os.path.join(a, "jobs", "demo", "builds", "1"))
    assert os.path.isdir(os.path.join(b, "jobs", "demo", "builds", "1"))
    assert os.path.isdir(os.path.join(disk, "jobs", "demo", "builds", "1"))
    # mkdir of an existing name fails on the other mount (Jenkins'
    # build-number collision relies on that)
    with pytest.raises(FileExistsError):
        os.mkdir(os.path.join(b, "jobs", "demo", "builds", "1"))
    # create with O_EXCL
    fd = os.open(os.path.join(a, "jobs", "demo", "nextBuildNumber"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.write(fd, b"2\n")
    os.close(fd)
    with pytest.raises(FileExistsError):
        os.open(os.path.join(b, "jobs", "demo", "nextBuildNumber"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    st = os.stat(os.path.join(disk, "jobs", "demo", "nextBuildNumber"))
    assert st.st_mode & 0o777 == 0o644
    assert abs(st.st_mtime - time.time()) < 120
    # atomic replace, as Jenkins' AtomicFileWriter does
    cfg = os.path.join(a, "jobs", "demo", "config.xml")
    _write(cfg, b"<project>old</project>")
    with open(os.path.join(b, "jobs", "demo", "config.xml"), "rb"):  # held open across the replace
        _write(cfg + ".tmp", b"<project>new</project>")
        os.replace(cfg + ".tmp", cfg)
    assert _read(os.path.join(b, "jobs", "demo", "config.xml")) == b"<project>new</project>"
    assert sorted(os.listdir(os.path.join(b, "jobs", "demo"))) == ["builds", "config.xml", "nextBuildNumber"]
    # rename a directory, seen by B and on disk
    os.rename(os.path.join(a, "jobs", "demo"), os.path.join(a, "jobs", "d2"))
    assert os.listdir(os.path.join(b, "jobs")) == ["d2"]
    assert os.listdir(os.path.join(disk, "jobs")) == ["d2"]
    # truncate through B, seen by A
    log = os.path.join(b, "jobs", "d2", "builds", "1", "log")
    _write(log, b"0123456789")
    os.truncate(log, 4)
    assert _read(os.path.join(a, "jobs", "d2", "builds", "1", "log")) == b"0123"
    # attributes, also on directories
    os.chmod(os.path.join(a, "jobs", "d2"), 0o750)
    os.utime(os.path.join(a, "jobs", "d2", "config.xml"), ns=(1500000000 * 10**9, 1600000000 * 10**9 + 123456789))
    assert os.stat(os.path.join(disk, "jobs", "d2")).st_mode & 0o777 == 0o750
    st = os.stat(os.path.join(b, "jobs", "d2", "config.xml"))
    assert st.st_mtime_ns == 1600000000 * 10**9 + 123456789
    os.chown(os.path.join(a, "jobs", "d2", "config.xml"), 1000, 1000)
    st = os.stat(os.path.join(disk, "jobs", "d2", "config.xml"))
    assert (st.st_uid, st.st_gid) == (1000, 1000)
    # symlink (Jenkins' lastSuccessfulBuild etc.)
    os.symlink("1", os.path.join(a, "jobs", "d2", "builds", "lastStable"))
    assert os.readlink(os.path.join(b, "jobs", "d2", "builds", "lastStable")) == "1"
    assert os.readlink(os.path.join(disk, "jobs", "d2", "builds", "lastStable")) == "1"
    # unlink / rmdir, seen everywhere
    with pytest.raises(OSError):
        os.rmdir(os.path.join(b, "jobs", "d2"))  # not empty
    os.unlink(os.path.join(b, "jobs", "d2", "builds", "lastStable"))
    shutil.rmtree(os.path.join(b, "jobs", "d2"))
    assert os.listdir(os.path.join(a, "jobs")) == []
    assert not os.path.exists(os.path.join(disk, "jobs", "d2"))
    with pytest.raises(FileNotFoundError):
        os.stat(os.path.join(a, "jobs", "d2"))
    os.rmdir(os.path.join(a, "jobs"))


def test_append_and_fsync(lab):
    path_a = os.path.join(lab.mnt_a, "build.log")
    path_b = os.path.join(lab.mnt_b, "build.log")
    with open(path_a, "ab") as f:
        f.write(b"line 1 from A\n")
        f.flush()
        os.fsync(f.fileno())
        # B appends in between: A's next append lands after it
        with open(path_b, "ab") as g:
            g.write(b"line 2 from B\n")
        f.write(b"line 3 from A\n")
        f.flush()
        os.fsync(f.fileno())
    expected = b"line 1 from A\nline 2 from B\nline 3 from A\n"
    assert _read(os.path.join(lab.export, "build.log")) == expected
    assert _read(path_b) == expected
    # a bigger write goes out in several NFS WRITEs
    big = os.urandom(1 << 20)
    with open(path_a, "ab") as f:
        f.write(big)
        os.fsync(f.fileno())
    assert _read(path_b) == expected + big


def test_unlink_while_open(lab):
    p = os.path.join(lab.mnt_a, "open-then-unlinked")
    _write(p, b"still readable")
    with open(p, "rb") as f:
        os.unlink(p)
        assert not os.path.exists(p)
        assert f.read() == b"still readable"
    _wait(
        lambda: not [n for n in os.listdir(lab.export) if n.startswith(".fuse_hidden")],
        10,
        "the hidden file of an unlinked open file to go",
    )


def test_server_restart_recovers(lab):
    with open(os.path.join(lab.mnt_a, "kept-open.log"), "ab") as keep:
        keep.write(b"before restart\n")
        keep.flush()
        # on the server before it goes (else the close(2) of the forked ganesha's copy of this
        # descriptor would wait to write it back, as on a kernel NFS mount)
        os.fsync(keep.fileno())
        lab.stop_ganesha()
        time.sleep(0.5)
        # server down for a moment: the first operation waits for it
        restarter = threading.Timer(2.0, lab.start_ganesha)
        restarter.start()
        try:
            t0 = time.monotonic()
            _write(os.path.join(lab.mnt_b, "after-restart"), b"B is back")
            waited = time.monotonic() - t0
        finally:
            restarter.join()
        assert 1.0 < waited < 30, waited
        assert _read(os.path.join(lab.mnt_a, "after-restart")) == b"B is back"
        keep.write(b"after restart\n")
        keep.flush()
    assert _read(os.path.join(lab.export, "kept-open.log")) == b"before restart\nafter restart\n"
    # an immediate restart (no wait) is also survived
    lab.stop_ganesha()
    lab.start_ganesha()
    assert sorted(os.listdir(lab.mnt_a)) == sorted(os.listdir(lab.mnt_b))
    _write(os.path.join(lab.mnt_a, "again"), b"x")
    assert _read(os.path.join(lab.mnt_b, "again")) == b"x"
    with open(os.path.join(lab.root, "mount-b.log")) as f:
        assert "reconnected" in f.read(), lab.logs()


def test_sigterm_unmounts(lab):
    assert lab.proc_a.poll() is None
    lab.proc_a.send_signal(signal.SIGTERM)
    rc = lab.proc_a.wait(timeout=20)
    assert rc == 0, lab.logs()
    assert not os.path.ismount(lab.mnt_a)
    with open(os.path.join(lab.root, "mount-a.log")) as f:
        text = f.read()
    assert f"mounted nfs://127.0.0.1{PSEUDO}" in text
    assert f"unmounted {lab.mnt_a}" in text
    # B still works
    assert _read(os.path.join(lab.mnt_b, "again")) == b"x"


# ---------------------------------------------------------------------------
# caching as a kernel NFS client caches (two mounts with short timeouts, so the test waits seconds)
# ---------------------------------------------------------------------------

CACHED = "acregmin=2,acregmax=2,acdirmin=3,acdirmax=3"


@pytest.fixture(scope="module", params=FUSE_SERVERS)
def cached_lab(request):
    lab = Lab(CACHED, request.param)
    try:
        lab.start_ganesha()
        lab.mount_a()
        lab.mount_b()
        yield lab
    finally:
        lab.teardown()


def _poll_until(pred, timeout):
    """Seconds until pred() held (polling), or None after `timeout`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def test_cached_attributes_until_acregmin_and_fresh_on_open(cached_lab):
    a, b = cached_lab.mnt_a, cached_lab.mnt_b
    _write(os.path.join(a, "f"), b"1")
    assert os.stat(os.path.join(b, "f")).st_size == 1  # B caches the attributes now
    _write(os.path.join(a, "f"), b"22")
    # B's stat answers from its cache (as a kernel client's does for acregmin) ...
    assert os.stat(os.path.join(b, "f")).st_size == 1
    # ... but an open asks the server (close-to-open) and reads what A wrote and closed
    assert _read(os.path.join(b, "f")) == b"22"
    assert os.stat(os.path.join(b, "f")).st_size == 2
    # what B wrote itself it reads from memory, until another mount changes the file (same size here)
    _write(os.path.join(b, "g"), b"BBBB")
    assert _read(os.path.join(b, "g")) == b"BBBB"
    time.sleep(0.05)  # a later mtime (the server's clock ticks in milliseconds)
    _write(os.path.join(a, "g"), b"AAAA")
    assert _read(os.path.join(b, "g")) == b"AAAA"
    # without an open, B's stat sees A's next change once acregmin (2 s) has passed
    _write(os.path.join(a, "f"), b"333")
    seen = _poll_until(lambda: os.stat(os.path.join(b, "f")).st_size == 3, 10)
    assert seen is not None and 0.5 < seen < 4, seen


def test_negative_lookups_until_acdirmin_and_listings_fresh_on_open(cached_lab):
    a, b = cached_lab.mnt_a, cached_lab.mnt_b
    os.mkdir(os.path.join(a, "jobs"))
    assert os.listdir(os.path.join(b, "jobs")) == []
    assert not os.path.exists(os.path.join(b, "jobs", "new"))  # B remembers the name is missing
    os.mkdir(os.path.join(a, "jobs", "new"))
    assert os.path.isdir(os.path.join(a, "jobs", "new"))
    # B: the directory's attributes are cached for acdirmin (3 s), and so is the missing name (a stat
    # does not open the directory)
    assert not os.path.exists(os.path.join(b, "jobs", "new"))
    seen = _poll_until(lambda: os.path.exists(os.path.join(b, "jobs", "new")), 10)
    assert seen is not None and 1 < seen < 5, seen
    # opening a directory asks the server for its attributes (close-to-open, as the kernel client does
    # for a directory it opens): a listing shows what A made at once, as Jenkins' reload needs
    os.mkdir(os.path.join(a, "jobs", "other"))
    assert sorted(os.listdir(os.path.join(b, "jobs"))) == ["new", "other"]
    assert os.path.isdir(os.path.join(b, "jobs", "other"))
    # B's own changes are seen by B at once
    os.rmdir(os.path.join(b, "jobs", "new"))
    assert not os.path.exists(os.path.join(b, "jobs", "new"))
    assert os.listdir(os.path.join(b, "jobs")) == ["other"]


def test_data_written_back_at_close_in_large_pieces(cached_lab):
    a, b, disk = cached_lab.mnt_a, cached_lab.mnt_b, cached_lab.export
    data = os.urandom(3 << 20)
    with open(os.path.join(a, "big"), "wb") as f:
        f.write(data[:1000])
        f.flush()
        # buffered in A until close (as a kernel client's page cache), A's own stat sees the size
        assert os.path.getsize(os.path.join(disk, "big")) == 0
        assert os.fstat(f.fileno()).st_size == 1000
        f.write(data[1000:])
    assert _read(os.path.join(disk, "big")) == data
    assert _read(os.path.join(b, "big")) == data


def test_threads_read_and_write_at_once(cached_lab):
    a, b = cached_lab.mnt_a, cached_lab.mnt_b
    os.mkdir(os.path.join(a, "many"))
    files = {f"c{i}.xml": os.urandom(5000 + i) for i in range(64)}

    def write(item):
        _write(os.path.join(a, "many", item[0]), item[1])

    def read(name):
        return name, _read(os.path.join(b, "many", name))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, files.items()))
        got = dict(pool.map(read, files))
    assert got == files


def test_appends_buffered_until_close(cached_lab):
    """O_APPEND as on a kernel NFS mount without noac: at the end this mount knows, the data written back
    at close (the other mount and the server see it then, whole and in order)."""
    a, b, disk = cached_lab.mnt_a, cached_lab.mnt_b, cached_lab.export
    _write(os.path.join(a, "log"), b"Started\n")
    with open(os.path.join(a, "log"), "ab", buffering=0) as f:
        for i in range(20):
            f.write(b"+ echo %d\n" % i)
        assert _read(os.path.join(disk, "log")) == b"Started\n"  # buffered
        assert os.fstat(f.fileno()).st_size == 8 + sum(len(b"+ echo %d\n" % i) for i in range(20))
        # a read on this mount sees its own appends
        assert _read(os.path.join(a, "log")).endswith(b"+ echo 19\n")
        f.write(b"Finished: SUCCESS\n")
    expected = b"Started\n" + b"".join(b"+ echo %d\n" % i for i in range(20)) + b"Finished: SUCCESS\n"
    assert _read(os.path.join(disk, "log")) == expected
    assert _read(os.path.join(b, "log")) == expected


def test_a_file_read_while_this_mount_writes_it_and_after_the_other_changed_it(cached_lab):
    a, b = cached_lab.mnt_a, cached_lab.mnt_b
    path = os.path.join(a, "w")
    with open(path, "wb") as w:
        w.write(b"first")
        w.flush()  # buffered in A, not on the server yet: a read through another handle still sees it
        assert _read(path) == b"first"
        w.write(b" second")
        w.flush()
        assert _read(path) == b"first second"
    assert _read(os.path.join(b, "w")) == b"first second"
    # the other mount rewrites it, larger than one open's first read, then smaller: each open of A reads it all
    for data in (b"x" * 70000, b"short", b"y" * 5):
        time.sleep(0.05)  # a later mtime (the server's clock ticks in milliseconds)
        _write(os.path.join(b, "w"), data)
        assert _read(path) == data
        assert os.stat(path).st_size == len(data)


def test_files_created_by_this_mount_with_its_own_open(cached_lab):
    """Creates go out as our own NFSv4 OPEN with the mode (and CLOSE with the first WRITE, or at release):
    a file made empty, one made read-only and written through the creating descriptor, and a name the
    other mount made after this one cached it as missing (opened, not replaced: no O_EXCL)."""
    a, b, disk = cached_lab.mnt_a, cached_lab.mnt_b, cached_lab.export
    os.close(os.open(os.path.join(a, "empty"), os.O_CREAT | os.O_WRONLY, 0o640))
    st = os.stat(os.path.join(disk, "empty"))
    assert (st.st_size, st.st_mode & 0o777) == (0, 0o640)
    assert os.path.getsize(os.path.join(b, "empty")) == 0
    with pytest.raises(FileExistsError):
        os.open(os.path.join(a, "empty"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
    fd = os.open(os.path.join(a, "read-only"), os.O_CREAT | os.O_WRONLY, 0o444)
    try:
        os.write(fd, b"written through the creating descriptor")
        os.fsync(fd)
    finally:
        os.close(fd)
    assert _read(os.path.join(disk, "read-only")) == b"written through the creating descriptor"
    assert os.stat(os.path.join(disk, "read-only")).st_mode & 0o777 == 0o444
    assert not os.path.exists(os.path.join(a, "raced"))  # A now takes the name as missing
    _write(os.path.join(b, "raced"), b"made by B")
    os.chmod(os.path.join(b, "raced"), 0o600)
    fd = os.open(os.path.join(a, "raced"), os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.write(fd, b"A's")
    finally:
        os.close(fd)
    assert _read(os.path.join(disk, "raced")) == b"A'se by B"  # B's file, its start overwritten
    assert os.stat(os.path.join(disk, "raced")).st_mode & 0o777 == 0o600
    # many creates, each written and renamed as Jenkins' AtomicFileWriter does
    for i in range(50):
        _write(os.path.join(a, f".c{i}.tmp"), b"<project>%d</project>" % i)
        os.replace(os.path.join(a, f".c{i}.tmp"), os.path.join(a, f"c{i}.xml"))
    assert all(_read(os.path.join(b, f"c{i}.xml")) == b"<project>%d</project>" % i for i in range(50))
