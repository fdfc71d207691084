"""/pluginManager/api/json: a small believable set of plugins of the Jenkins 2.190 era. Lite runs none of
them: each entry says so (`labgenFlavour`), and the response carries X-Labgen-Flavour like every other."""

from __future__ import annotations

from labgen_lite.api.common import answer
from labgen_lite.api.export import Bean
from labgen_lite.app import JenkinsLite
from labgen_lite.identity import FLAVOUR
from labgen_lite.security import Auth
from labgen_lite.web import Request, Response

# shortName, version, longName, dependencies (shortName, version)
PLUGINS: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("structs", "1.20", "Structs Plugin", ()),
    ("script-security", "1.66", "Script Security Plugin", ()),
    ("bouncycastle-api", "2.17", "bouncycastle API Plugin", ()),
    ("command-launcher", "1.3", "Command Agent Launcher Plugin", (("script-security", "1.63"),)),
    ("jdk-tool", "1.3", "JDK Tool Plugin", ()),
    ("display-url-api", "2.3.2", "Display URL API", ()),
    ("mailer", "1.29", "Jenkins Mailer Plugin", (("display-url-api", "2.3.1"),)),
    ("credentials", "2.3.0", "Credentials Plugin", (("structs", "1.7"),)),
    ("matrix-auth", "2.4.2", "Matrix Authorization Strategy Plugin", ()),
    ("junit", "1.28", "JUnit Plugin", (("script-security", "1.56"), ("structs", "1.17"))),
    ("antisamy-markup-formatter", "1.6", "OWASP Markup Formatter Plugin", ()),
    ("trilead-api", "1.0.5", "Trilead API Plugin", ()),
)


def _plugin(short: str, version: str, long_name: str, deps: tuple[tuple[str, str], ...]) -> Bean:
    """PluginWrapper: every property at visibility 1, so a plugin shows its fields from depth 1."""
    dependencies = [Bean(None, {"optional": False, "shortName": s, "version": v}) for s, v in deps]
    return Bean(
        "hudson.PluginWrapper",
        {
            "active": True,
            "backupVersion": None,
            "bundled": False,
            "deleted": False,
            "dependencies": dependencies,
            "downgradable": False,
            "enabled": True,
            "hasUpdate": False,
            "longName": long_name,
            "pinned": False,
            "requiredCoreVersion": "2.138.4",
            "shortName": short,
            "supportsDynamicLoad": "MAYBE",
            "url": f"https://plugins.jenkins.io/{short}",
            "version": version,
            "labgenFlavour": f"{FLAVOUR}: listed, not run",
        },
    )


def api_plugins(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    return answer(app, request, Bean("hudson.LocalPluginManager", {"plugins": [_plugin(*p) for p in PLUGINS]}))
