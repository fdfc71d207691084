"""Every name of the lab's layout, spelled once: labels, services, proxies, tags, volumes, ports.

Only the model (this package) and the templates spell these; code everywhere else reads them
from here or from a `Topology` (tests/unit/test_layout_names.py checks). The programs in the
images read them too (`labgen build` copies this file into their build contexts), so this module
imports nothing but the standard library.
"""

from __future__ import annotations

from typing import Literal

Flavour = Literal["real", "lite"]
NfsClient = Literal["kernel", "fuse", "local"]

# ---- Docker labels: the source of truth for a running lab -----------------------------------------
LAB_LABEL = "org.labgen.lab"
SERVICE_LABEL = "org.labgen.service"
PROFILE_LABEL = "org.labgen.profile"
ROLE_LABEL = "org.labgen.role"
VOLUME_LABEL = "org.labgen.volume"
COMPONENT_LABEL = "org.labgen.component"
CONTENT_HASH_LABEL = "org.labgen.content-hash"
FLAVOUR_LABEL = "org.labgen.jenkins.flavour"
HAPROXY_ORIGIN_LABEL = "org.labgen.haproxy.source"
JENKINS_SHA_LABEL = "org.labgen.jenkins.sha256"
DEBIAN_SUITE_LABEL = "org.labgen.debian.suite"

# ---- services and what runs in them ----------------------------------------------------------------
NFS = "nfs"
HAPROXY = "haproxy"
MASTER_PREFIX = "jenkins"
JENKINS_HTTP_PORT = 8080  # inside a master's container
JENKINS_AGENT_PORT = 8181
HAPROXY_HTTP_PORT = 80  # inside HAProxy's container
HAPROXY_STATS_PORT = 8001
HAPROXY_AGENT_PORT = 8181
HOMECHECK_PORT = 8199  # inside a master: labgen_homecheck, HAProxy's agent-check (is JENKINS_HOME answering?)
NETWORK = "lab"
HOME_VOLUME = "jenkins-home"
HOME_NFS_VOLUME = "jenkins-home-nfs"
HAPROXY_RUN_VOLUME = "haproxy-run"
NFS_EXPORT_DIR = "/export"  # the NFS server's exported volume, inside its container
NFS_PSEUDO_PATH = "/data"
JENKINS_HOME_DIR = "/var/lib/data/jenkins"
SECRETS_FILE = "secrets.env"
STATS_PATH = "/haproxy?stats"
# a master's environment: HAProxy's stats page as a browser reaches it (lite's pages link it)
LITE_STATS_URL_ENV = "LABGEN_STATS_URL"

# ---- HAProxy's proxies -------------------------------------------------------------------------------
STATS_PROXY = "admin_stats"
AGENT_PROXY = "jenkins_agent"
HTTP_BACKEND = {"ha": "jenkins", "article": "jenkins_proxy"}  # the article names its backend jenkins_proxy
HTTP_FRONTEND = {"ha": "jenkins_http", "article": "jenkins_proxy"}
WRITE_BACKEND = "jenkins_write"  # ha: requests other than GET/HEAD, retried only where never applied
HOLD_PROXY = "hold"  # ha: where requests wait while no master may serve (tarpit, then 503)
HOLD_SERVER = "hold"
HOLD_SERVER_ID = 1000
HOLD_PORT = 8099  # on 127.0.0.1 inside HAProxy's container
ADMIN_USERLIST = "labgen_admin"  # the stats login, for the promoter's HTTP service
# The promoter: Lua inside HAProxy (ha profile), installed by images/haproxy/Dockerfile
PROMOTER = HAPROXY  # the service that promotes a standby: `labgen chaos kill` it to test that
PROMOTER_LUA = "/usr/local/share/labgen/promoter.lua"
PROMOTER_SERVICE = "labgen"  # core.register_service name (promoter.lua)
PROMOTER_HOLD_ACTION = "labgen_hold"  # core.register_action name: writes wait while no master serves
PROMOTER_PATH = "/labgen/"  # on the stats port: GET state, POST switchover?to=MASTER
PROMOTER_STATE_PATH = PROMOTER_PATH + "state"
PROMOTER_SWITCHOVER_PATH = PROMOTER_PATH + "switchover"
SERVED_BY_HEADER = "X-Labgen-Served-By"
NODE_HEADER = "X-Labgen-Node"
FLAVOUR_HEADER = "X-Labgen-Flavour"

# ---- images -------------------------------------------------------------------------------------------
BASE_SUITE = "bookworm"  # the Debian release every image is built on
BASE_TAG = f"labgen/base:{BASE_SUITE}"
NFS_TAG = "labgen/nfs-ganesha:4.3"
HAPROXY_REPOSITORY = "labgen/haproxy"
JENKINS_REPOSITORY = {"real": "labgen/jenkins", "lite": "labgen/jenkins-lite"}
BASE_IMAGE = "base"  # the keys of Topology.images and of BuildResult.tags
JENKINS_IMAGE = "jenkins"  # one image for every master

# What nfs-ganesha needs with `--cap-drop ALL` (measured with libnfs clients creating, reading
# and writing files as root and as uid 1000; no --privileged, which this engine refuses):
NFS_CAPABILITIES = (
    "DAC_READ_SEARCH",  # open_by_handle_at(): FSAL_VFS reaches every file by its kernel handle
    "SETUID",  # per request ganesha takes the client's fsuid ...
    "SETGID",  # ... and its groups (setgroups); without these it aborts on the first write
    "DAC_OVERRIDE",  # No_Root_Squash: a root client may write into anyone's directories
    "FOWNER",  # set times/modes on the files it creates for a client (else NFS4ERR_PERM)
    "CHOWN",  # SETATTR owner/group from clients (chown over NFS)
)
# ganesha's VFS backend reaches files by handle (name_to_handle_at), which Docker's default
# seccomp profile allowed only together with CAP_SYS_ADMIN on older engines (moby fixed it in
# 2023, not in every release line): the NFS container runs without seccomp filtering rather
# than with SYS_ADMIN. compose.yaml and `docker run` (tests) use the same options.
NFS_SECURITY_OPT = ("seccomp=unconfined",)
# labgen's FUSE NFS client in the masters (the Docker host's kernel has no NFS client)
FUSE_DEVICE = "/dev/fuse"
FUSE_CAPABILITIES = ("SYS_ADMIN",)


def nfs_run_options() -> dict[str, object]:
    """`docker run` settings of the NFS container (Docker SDK keyword names)."""
    return {"cap_drop": ["ALL"], "cap_add": list(NFS_CAPABILITIES), "security_opt": list(NFS_SECURITY_OPT)}


def jenkins_run_options() -> dict[str, object]:
    """`docker run` settings of a master that mounts JENKINS_HOME with the FUSE NFS client."""
    return {"devices": [f"{FUSE_DEVICE}:{FUSE_DEVICE}:rwm"], "cap_add": list(FUSE_CAPABILITIES)}


def master_names(count: int) -> list[str]:
    return [f"{MASTER_PREFIX}{i:02d}" for i in range(1, count + 1)]


def project_name(lab_name: str) -> str:
    """The Compose project name, and the prefix of every container, network and volume."""
    return f"labgen-{lab_name}"


def haproxy_tag(version: str) -> str:
    return f"{HAPROXY_REPOSITORY}:{version}"


def jenkins_tag(flavour: str, version: str) -> str:
    return f"{JENKINS_REPOSITORY['real' if flavour == 'real' else 'lite']}:{version}"
