"""Views as Jenkins 2.190.2 keeps them: the `all` view (hudson.model.AllView) and list views
(hudson.model.ListView), in memory, saved in JENKINS_HOME/config.xml's `<views>` and `<primaryView>`
(Jenkins.save through XStream: a ListView is written `<listView>`, its owner `<owner class="hudson"
reference="../../.."/>`), read from there at start and on reload, so the other master sees them after
its reload as Jenkins does."""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from labgen_lite.home import write_atomic
from labgen_lite.jobs import XML_HEADER

ALL_VIEW = "hudson.model.AllView"
LIST_VIEW = "hudson.model.ListView"
ALIASES = {"listView": LIST_VIEW, "view": LIST_VIEW}  # Jenkins.XSTREAM's aliases for ListView
KNOWN = (ALL_VIEW, LIST_VIEW)
ALL_VIEW_XML = (
    "<hudson.model.AllView><name>all</name><filterExecutors>false</filterExecutors>"
    '<filterQueue>false</filterQueue><properties class="hudson.model.View$PropertyList"/></hudson.model.AllView>'
)
VIEWS_BLOCK = re.compile(r"[ \t]*<views>.*?</views>\n?|[ \t]*<views/>\n?", re.S)
PRIMARY = re.compile(r"<primaryView>([^<]*)</primaryView>")


class ViewProblem(Exception):
    """A view request Jenkins answers with a Failure (400, X-Error)."""


@dataclass
class View:
    element: ET.Element  # the view as XStream writes it (root tag: its class), without `owner`

    @property
    def kind(self) -> str:
        return self.element.tag

    @property
    def name(self) -> str:
        return self.element.findtext("name") or ""

    @property
    def description(self) -> str | None:
        return self.element.findtext("description")

    def job_names(self) -> list[str]:
        holder = self.element.find("jobNames")
        return [] if holder is None else [s.text or "" for s in holder.findall("string")]

    def contains(self, job: str) -> bool:
        """AllView: every job. ListView: its jobNames (case-insensitive), or its includeRegex."""
        if self.kind == ALL_VIEW:
            return True
        if job.lower() in {name.lower() for name in self.job_names()}:
            return True
        regex = self.element.findtext("includeRegex")
        return bool(regex) and re.fullmatch(regex or "", job) is not None

    def set_job_names(self, names: Iterable[str]) -> None:
        """ListView.jobNames: a TreeSet with CaseInsensitiveComparator."""
        holder = self.element.find("jobNames")
        if holder is None:
            holder = ET.SubElement(self.element, "jobNames")
        holder.clear()
        ET.SubElement(holder, "comparator", {"class": "hudson.util.CaseInsensitiveComparator"})
        unique = {name.lower(): name for name in names}
        for key in sorted(unique):
            ET.SubElement(holder, "string").text = unique[key]

    def config_xml(self) -> bytes:
        """View.writeXml (XStream2 with `owner` omitted)."""
        return (XML_HEADER + ET.tostring(self.element, encoding="unicode") + "\n").encode()


def parse_view(body: bytes, name: str | None) -> View:
    """View.createViewFromXML: any view class lite knows; `name` (if given) replaces the XML's."""
    try:
        element = ET.fromstring(body)
    except ET.ParseError as error:
        raise ViewProblem(f"Unable to read: {error}") from None
    element.tag = ALIASES.get(element.tag, element.tag)
    if element.tag not in KNOWN:
        raise ViewProblem(f"Unable to read: lite knows the view classes {', '.join(KNOWN)}, not {element.tag}")
    for owner in element.findall("owner"):
        element.remove(owner)
    if name is not None:
        _set_name(element, name)
    return View(element)


def new_list_view(name: str) -> View:
    """ListView's descriptor, from the "New View" form: no jobs, the default columns."""
    element = ET.fromstring(
        f"<{LIST_VIEW}><name></name><filterExecutors>false</filterExecutors><filterQueue>false</filterQueue>"
        '<properties class="hudson.model.View$PropertyList"/><jobNames>'
        '<comparator class="hudson.util.CaseInsensitiveComparator"/></jobNames><jobFilters/><columns>'
        "<hudson.views.StatusColumn/><hudson.views.WeatherColumn/><hudson.views.JobColumn/>"
        "<hudson.views.LastSuccessColumn/><hudson.views.LastFailureColumn/><hudson.views.LastDurationColumn/>"
        f"<hudson.views.BuildButtonColumn/></columns><recurse>false</recurse></{LIST_VIEW}>"
    )
    _set_name(element, name)
    return View(element)


def _set_name(element: ET.Element, name: str) -> None:
    holder = element.find("name")
    if holder is None:
        holder = ET.Element("name")
        element.insert(0, holder)
    holder.text = name


class Views:
    """The master's views, in Jenkins.views order, and its primary view."""

    def __init__(self, views: list[View], primary: str) -> None:
        self.views = views or [View(ET.fromstring(ALL_VIEW_XML))]
        self.primary_name = primary if any(v.name == primary for v in self.views) else self.views[0].name

    def get(self, name: str) -> View | None:
        return next((view for view in self.views if view.name == name), None)

    @property
    def primary(self) -> View:
        return self.get(self.primary_name) or self.views[0]

    def add(self, view: View) -> None:
        if self.get(view.name) is not None:
            raise ViewProblem(f'A view already exists with the name "{view.name}"')
        self.views.append(view)

    def delete(self, view: View) -> None:
        """ViewGroupMixIn.deleteView: never the last view."""
        if len(self.views) <= 1:
            raise RuntimeError("Cannot delete last view")
        self.views.remove(view)
        if view.name == self.primary_name:
            self.primary_name = self.views[0].name

    def job_renamed(self, old: str, new: str) -> bool:
        """ListView.Listener.onLocationChanged: the views that named the job name it anew."""
        changed = False
        for view in self.views:
            names = view.job_names()
            if any(n.lower() == old.lower() for n in names):
                view.set_job_names([new if n.lower() == old.lower() else n for n in names])
                changed = True
        return changed

    def job_deleted(self, name: str) -> bool:
        """ListView.Listener.onDeleted."""
        changed = False
        for view in self.views:
            names = view.job_names()
            if any(n.lower() == name.lower() for n in names):
                view.set_job_names([n for n in names if n.lower() != name.lower()])
                changed = True
        return changed


def load_views(home: Path) -> Views:
    """The `<views>` and `<primaryView>` of JENKINS_HOME/config.xml (an `all` view if it has none)."""
    try:
        root = ET.fromstring((home / "config.xml").read_bytes())
    except (OSError, ET.ParseError):
        return Views([], "all")
    views = []
    for element in root.findall("./views/*"):
        try:
            views.append(parse_view(ET.tostring(element), None))
        except ViewProblem:
            continue  # a view class lite does not know (a plugin's): Jenkins would not load it either
    return Views(views, root.findtext("primaryView") or "all")


def save_views(home: Path, views: Views) -> None:
    """Jenkins.save, for the part lite changes: `<views>` and `<primaryView>` in JENKINS_HOME/config.xml."""
    path = home / "config.xml"
    text = path.read_text(encoding="utf-8")
    block = "  <views>\n" + "".join(_persisted(view) for view in views.views) + "  </views>\n"
    text = VIEWS_BLOCK.sub("", text)
    primary = f"<primaryView>{_escape(views.primary_name)}</primaryView>"
    if PRIMARY.search(text):
        text = PRIMARY.sub(lambda _: primary, text, count=1)
    else:
        text = text.replace("</hudson>", f"  {primary}\n</hudson>", 1)
    text = re.sub(r"([ \t]*)<primaryView>", lambda m: block + m.group(1) + "<primaryView>", text, count=1)
    write_atomic(path, text.encode("utf-8"))


def _persisted(view: View) -> str:
    element = copy.deepcopy(view.element)
    element.tag = "listView" if view.kind == LIST_VIEW else view.kind
    element.insert(0, ET.Element("owner", {"class": "hudson", "reference": "../../.."}))
    return "    " + ET.tostring(element, encoding="unicode") + "\n"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
