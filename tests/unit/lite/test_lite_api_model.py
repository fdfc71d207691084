"""lite's answers against Jenkins 2.190.2's export model, read from core at tag jenkins-2.190.2 and from
Stapler: `depth` and @Exported visibility (org.kohsuke.stapler.export.TreePruner.ByDepth, started at
1 - depth by hudson.model.Api), tree ranges (NamedPathPruner), api/python (PythonDataWriter), api/xml with
xpath, wrapper and exclude (hudson.model.Api.doXml), typed parameters, permalinks and build deletion (Run)."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from typing import Any

from tests.unit.lite.support import ADMIN, PARAMS, TOKEN, Instance, create, job_xml

AUTH = (ADMIN, TOKEN)


def _json(one: Instance, path: str) -> dict[str, Any]:
    answer = one.get(path, auth=AUTH)
    assert answer.status_code == 200, (path, answer.status_code, answer.text)
    return dict(answer.json())


def _three_builds(one: Instance) -> None:
    create(one, "b", job_xml("true"))
    for number in (1, 2, 3):
        assert one.post("job/b/build?delay=0", auth=AUTH).status_code == 201
        one.wait_build("b", number)


def test_depth_follows_exported_visibility(one: Instance) -> None:
    """Run.getNumber and getAbsoluteUrl are @Exported(visibility=2); getResult is at 1: a job's builds show
    number and url at depth 0, everything from depth 1; Job.getBuilds (allBuilds) is at -2: depth 3 only."""
    _three_builds(one)
    shallow = _json(one, "job/b/api/json")
    assert shallow["builds"][0] == {"_class": "hudson.model.FreeStyleBuild", "number": 3, "url": one.url + "job/b/3/"}
    assert "allBuilds" not in shallow
    deep = _json(one, "job/b/api/json?depth=1")
    assert deep["builds"][0]["result"] == "SUCCESS" and deep["lastBuild"]["result"] == "SUCCESS"
    assert "allBuilds" not in deep and "allBuilds" in _json(one, "job/b/api/json?depth=3")
    # jenkins.model.Jenkins: jobs at 1, a job's name/url (AbstractItem, 999) and color (Job, 2)
    root = _json(one, "api/json")
    assert root["jobs"] == [
        {"_class": "hudson.model.FreeStyleProject", "name": "b", "url": one.url + "job/b/", "color": "blue"}
    ]
    assert "builds" in _json(one, "api/json?depth=1")["jobs"][0]


def test_tree_ranges(one: Instance) -> None:
    """NamedPathPruner.parseRange: {M,N} is [M,N), {M,} from M, {,N} up to N, {N} just N."""
    _three_builds(one)
    numbers = {
        spec: [b["number"] for b in _json(one, f"job/b/api/json?tree=builds[number]{spec}")["builds"]]
        for spec in ("{0,2}", "{1,}", "{,1}", "{2}")
    }
    assert numbers == {"{0,2}": [3, 2], "{1,}": [2, 1], "{,1}": [3], "{2}": [1]}
    assert one.get("job/b/api/json?tree=builds[number]{x}", auth=AUTH).status_code == 500


def test_api_python_and_xml_wherever_api_json_is(one: Instance) -> None:
    _three_builds(one)
    for path in ("", "job/b/", "job/b/1/", "queue/", "computer/", "computer/(master)/", "view/all/", "me/"):
        python = one.get(f"{path}api/python", auth=AUTH)
        assert python.status_code == 200, path
        assert ast.literal_eval(python.text) == _json(one, f"{path}api/json"), path  # PythonDataWriter
        assert one.get(f"{path}api/xml", auth=AUTH).status_code == 200, path
    assert "True" in one.get("api/python?tree=useSecurity", auth=AUTH).text
    document = ET.fromstring(one.get("api/xml", auth=AUTH).content)  # XMLDataWriter: decapitalized class name
    assert document.tag == "hudson" and document.get("_class") == "hudson.model.Hudson"
    assert [job.findtext("name") for job in document.findall("job")] == ["b"]  # arrays: repeated, singular


def test_api_xml_xpath_wrapper_and_exclude(one: Instance) -> None:
    """Api.doXml: one node as XML; several need a wrapper; none is 404, many 500; a text result is 403 with
    security on (SecureRequester); `exclude` removes nodes first."""
    _three_builds(one)
    picked = one.get("job/b/api/xml?xpath=/freeStyleProject/lastBuild", auth=AUTH)
    assert picked.status_code == 200 and ET.fromstring(picked.content).findtext("number") == "3"
    wrapped = ET.fromstring(one.get("job/b/api/xml?xpath=//build/number&wrapper=numbers", auth=AUTH).content)
    assert wrapped.tag == "numbers" and [n.text for n in wrapped] == ["3", "2", "1"]
    assert one.get("job/b/api/xml?xpath=//build", auth=AUTH).status_code == 500
    assert one.get("job/b/api/xml?xpath=//nothing", auth=AUTH).status_code == 404
    text = one.get("job/b/api/xml?xpath=/freeStyleProject/name/text()", auth=AUTH)
    assert text.status_code == 403 and "primitive XPath result sets forbidden" in text.text
    assert one.get("job/b/api/xml?xpath=//build&wrapper=1bad", auth=AUTH).status_code == 400
    trimmed = ET.fromstring(one.get("job/b/api/xml?exclude=//build&exclude=//action", auth=AUTH).content)
    assert trimmed.find("build") is None and trimmed.findtext("name") == "b"
    crumb = one.get('crumbIssuer/api/xml?xpath=concat(//crumbRequestField,":",//crumb)', auth=AUTH)
    assert crumb.status_code == 200 and crumb.text.startswith("Jenkins-Crumb:")  # CrumbIssuer.RestrictedApi


def test_parameter_definitions_and_values_carry_their_exported_types(one: Instance) -> None:
    """ChoiceParameterDefinition.getChoices; BooleanParameterValue.value is a boolean (visibility 4);
    PasswordParameterValue exports no value; ParameterDefinition is defaultVisibility 3, so in `actions`
    (one level deeper than the inline `property`) defaultParameterValue shows its value, not its name."""
    create(one, "p", job_xml("true", params=PARAMS))
    job = _json(one, "job/p/api/json")
    defs = {d["name"]: d for d in job["property"][0]["parameterDefinitions"]}
    assert defs["COLOUR"]["choices"] == ["red", "green"] and defs["COLOUR"]["type"] == "ChoiceParameterDefinition"
    assert defs["COLOUR"]["defaultParameterValue"] == {
        "_class": "hudson.model.StringParameterValue",
        "name": "COLOUR",
        "value": "red",
    }
    assert defs["LOUD"]["defaultParameterValue"]["value"] is True
    assert defs["PW"]["defaultParameterValue"] == {"_class": "hudson.model.PasswordParameterValue", "name": "PW"}
    in_actions = job["actions"][0]["parameterDefinitions"][0]["defaultParameterValue"]
    assert in_actions == {"_class": "hudson.model.StringParameterValue", "value": "red"}
    assert one.post("job/p/buildWithParameters?COLOUR=green&LOUD=false", auth=AUTH).status_code == 201
    build = one.wait_build("p", 1)
    values = {p["name"]: p.get("value") for p in build["actions"][1]["parameters"]}
    assert values == {"COLOUR": "green", "LOUD": False, "PW": None}


def test_permalinks_build_number_and_build_deletion(one: Instance) -> None:
    """Run.doBuildNumber behind each permalink (PermalinkProjectAction.Permalink); Run.doDoDelete."""
    create(one, "f", job_xml("exit 1"))
    assert one.post("job/f/build?delay=0", auth=AUTH).status_code == 201
    one.wait_build("f", 1)
    for link, expected in (
        ("lastBuild", 200),
        ("lastFailedBuild", 200),
        ("lastUnsuccessfulBuild", 200),
        ("lastCompletedBuild", 200),
        ("lastSuccessfulBuild", 404),
        ("lastStableBuild", 404),
        ("lastUnstableBuild", 404),
    ):
        answer = one.get(f"job/f/{link}/buildNumber", auth=AUTH)
        assert answer.status_code == expected, link
        if expected == 200:
            assert answer.text == "1" and answer.headers["Content-Type"].startswith("text/plain")
    assert one.get("job/f/1/doDelete", auth=AUTH).status_code == 405  # @RequirePOST
    deleted = one.post("job/f/1/doDelete", auth=AUTH)
    assert deleted.status_code == 302 and deleted.headers["Location"] == one.url + "job/f/"
    assert one.get("job/f/1/api/json", auth=AUTH).status_code == 404
    assert not (one.home / "jobs" / "f" / "builds" / "1").exists()
    assert _json(one, "job/f/api/json")["lastBuild"] is None


def test_the_script_console_says_it_is_not_supported(one: Instance) -> None:
    for path in ("scriptText", "script"):
        answer = one.post(path, auth=AUTH, data={"script": "println 1"})
        assert answer.status_code == 501 and "no Groovy script console" in answer.text


def test_create_item_knows_only_the_freestyle_item_type(one: Instance) -> None:
    """ItemGroupMixIn.createTopLevelItem: a `mode` names a TopLevelItemDescriptor; lite has FreeStyleProject
    only, so python-jenkins' create_folder (the cloudbees-folder plugin's type) is refused as on a 2.190
    without that plugin, instead of quietly making a freestyle job."""
    made = one.post("createItem?name=free&mode=hudson.model.FreeStyleProject", auth=AUTH, data={"x": "1"})
    assert made.status_code == 302
    folder = one.post("createItem?name=dir&mode=com.cloudbees.hudson.plugins.folder.Folder", auth=AUTH, data={"x": "1"})
    assert folder.status_code == 400
    assert folder.headers["X-Error"].startswith("No item type")  # a header is Latin-1: the quotes become ?
    assert "No item type \u2018com.cloudbees.hudson.plugins.folder.Folder\u2019 is known" in folder.text
    assert one.get("job/dir/api/json", auth=AUTH).status_code == 404
