"""Views (jenkins.model.Jenkins.doCreateView, hudson.model.View.create / doConfigDotXml / doDoDelete,
hudson.model.ListView.doAddJobToView / doRemoveJobFromView, Jenkins.save of `<views>`) and users
(hudson.model.User, jenkins.security.ApiTokenProperty.DescriptorImpl.doGenerateNewToken / doRevoke),
persisted in the home so that a second master on it sees them after its reload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from tests.unit.lite.support import ADMIN, BOB, BOB_TOKEN, PASSWORD, TOKEN, Instance, create, job_xml

AUTH = (ADMIN, TOKEN)
VIEW_XML = (
    "<?xml version='1.1' encoding='UTF-8'?><hudson.model.ListView><name>ignored</name>"
    "<description>mine</description><jobNames><comparator class='hudson.util.CaseInsensitiveComparator'/>"
    "<string>a</string></jobNames><recurse>false</recurse></hudson.model.ListView>"
)
XML = {"Content-Type": "text/xml; charset=utf-8"}


def _reload(instance: Instance) -> None:
    assert instance.post("reload", auth=AUTH).status_code == 302
    instance.wait_until_serving()


def test_views_created_changed_and_deleted_as_jenkins_does(one: Instance) -> None:
    create(one, "a", job_xml("true"))
    create(one, "b", job_xml("true"))
    assert one.get("view/all/api/json?tree=name", auth=AUTH).json()["name"] == "all"
    made = one.post("createView?name=v1", auth=AUTH, data=VIEW_XML, headers=XML)
    assert made.status_code == 200
    again = one.post("createView?name=v1", auth=AUTH, data=VIEW_XML, headers=XML)
    assert again.status_code == 400 and again.headers["X-Error"] == 'A view already exists with the name "v1"'
    view = one.get("view/v1/api/json", auth=AUTH).json()
    assert view["_class"] == "hudson.model.ListView" and view["name"] == "v1" and view["description"] == "mine"
    assert [j["name"] for j in view["jobs"]] == ["a"] and view["url"] == one.url + "view/v1/"
    assert one.post("view/v1/addJobToView?name=b", auth=AUTH).status_code == 200
    assert one.post("view/v1/removeJobFromView?name=a", auth=AUTH).status_code == 200
    unknown = one.post("view/v1/addJobToView?name=zz", auth=AUTH)
    assert unknown.status_code == 400 and "does not correspond to a known item" in unknown.headers["X-Error"]
    assert [j["name"] for j in one.get("view/v1/api/json", auth=AUTH).json()["jobs"]] == ["b"]
    config = one.get("view/v1/config.xml", auth=AUTH).text
    assert "<string>b</string>" in config and "<name>v1</name>" in config
    # the form of "New View" (mode=ListView): 302 to its configure page
    form = one.post("createView", auth=AUTH, data={"name": "v2", "mode": "hudson.model.ListView", "json": "{}"})
    assert form.status_code == 302 and form.headers["Location"] == one.url + "view/v2/configure"
    bad = one.post("createView", auth=AUTH, data={"name": "v3", "mode": "no.such.View"})
    assert bad.status_code == 400 and "No view type" in bad.headers["X-Error"]
    assert one.post("view/v1/config.xml", auth=AUTH, data=config.replace("mine", "changed"), headers=XML).ok
    assert one.get("view/v1/api/json", auth=AUTH).json()["description"] == "changed"
    names = [v["name"] for v in one.get("api/json", auth=AUTH).json()["views"]]
    assert names == ["all", "v1", "v2"]
    assert one.post("view/v2/doDelete", auth=AUTH).status_code == 302
    assert one.get("view/v2/api/json", auth=AUTH).status_code == 404
    # a renamed job is renamed in the views that list it (ListView.Listener)
    assert one.post("job/b/doRename?newName=c", auth=AUTH).status_code == 302
    assert [j["name"] for j in one.get("view/v1/api/json", auth=AUTH).json()["jobs"]] == ["c"]


def test_views_and_tokens_are_in_the_home_for_the_other_master(start: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    first, second = start(home, "jenkins01"), start(home, "jenkins02")
    assert first.post("createView?name=shared", auth=AUTH, data=VIEW_XML, headers=XML).status_code == 200
    assert "<listView>" in (home / "config.xml").read_text()  # Jenkins.XSTREAM's alias, as Jenkins saves it
    generated = first.post(
        "me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken?newTokenName=ci", auth=AUTH
    ).json()
    assert generated["status"] == "ok" and generated["data"]["tokenName"] == "ci"
    value, uuid = generated["data"]["tokenValue"], generated["data"]["tokenUuid"]
    assert len(value) == 34 and value.startswith("11")
    assert value not in (home / "users" / ADMIN / "config.xml").read_text()  # only its hash is kept
    assert first.get("me/api/json", auth=(ADMIN, value)).json()["id"] == ADMIN
    # the other master reads views and users at start and on reload only, as Jenkins does
    assert second.get("view/shared/api/json", auth=AUTH).status_code == 404
    assert second.get("me/api/json", auth=(ADMIN, value)).status_code == 401
    _reload(second)
    assert second.get("view/shared/api/json", auth=AUTH).status_code == 200
    assert second.get("me/api/json", auth=(ADMIN, value)).status_code == 200
    assert second.post("job/none/doDelete", auth=(ADMIN, value)).status_code == 404  # a token needs no crumb
    revoke = first.post(f"me/descriptorByName/jenkins.security.ApiTokenProperty/revoke?tokenUuid={uuid}", auth=AUTH)
    assert revoke.status_code == 200
    assert first.get("me/api/json", auth=(ADMIN, value)).status_code == 401


def test_user_api_and_who_may_make_tokens(one: Instance) -> None:
    me = one.get("me/api/json", auth=AUTH).json()
    assert me["_class"] == "hudson.model.User" and me["id"] == ADMIN and me["absoluteUrl"] == one.url + "user/admin"
    assert one.get(f"user/{BOB}/api/json", auth=AUTH).json()["fullName"] == BOB
    assert one.get("user/nobody/api/json", auth=AUTH).status_code == 404
    # ApiTokenProperty: only for oneself (ADMIN_CAN_GENERATE_NEW_TOKENS is false by default)
    path = "descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken"
    assert one.post(f"user/{BOB}/{path}", auth=AUTH).status_code == 403
    assert one.post(f"user/{BOB}/{path}", auth=(BOB, BOB_TOKEN)).json()["status"] == "ok"
    # with a password, the POST needs a crumb of the session (as every password POST)
    session = requests.Session()
    session.auth = (ADMIN, PASSWORD)
    assert session.post(one.url + "me/" + path, timeout=5).status_code == 403
    crumb = session.get(one.url + "crumbIssuer/api/json", timeout=5).json()
    answer = session.post(one.url + "me/" + path, headers={"Jenkins-Crumb": crumb["crumb"]}, timeout=5)
    assert answer.status_code == 200 and answer.json()["data"]["tokenName"].startswith("Token created on ")
