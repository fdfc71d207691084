"""Users: /user/NAME/api/* and /me/api/* (hudson.model.User), and API tokens
(ApiTokenProperty.DescriptorImpl.doGenerateNewToken and doRevoke, under /user/NAME/ or /me/)."""

from __future__ import annotations

import time
from urllib.parse import quote

from labgen_lite.api.common import answer
from labgen_lite.api.export import Bean, P, bean
from labgen_lite.app import JenkinsLite
from labgen_lite.security import Auth, Permission
from labgen_lite.web import Request, Response, html_page, json_response, not_found

TOKEN_PROPERTY = "jenkins.security.ApiTokenProperty"


def user_bean(app: JenkinsLite, name: str, root: str) -> Bean:
    """User: absoluteUrl and fullName at visibility 999; id, description and (inline) property at 1."""
    properties = [
        bean(TOKEN_PROPERTY),
        bean("hudson.model.MyViewsProperty"),
        bean("hudson.model.PaneStatusProperties"),
        bean("hudson.search.UserSearchProperty", insensitiveSearch=True),
        bean("hudson.security.HudsonPrivateSecurityRealm$Details"),
    ]
    return bean(
        "hudson.model.User",
        absoluteUrl=P(f"{root}user/{quote(name, safe='')}", visibility=999),
        description=None,
        fullName=P(name, visibility=999),
        id=name,
        property=P(properties, inline=True),
    )


def api_user(app: JenkinsLite, request: Request, auth: Auth, name: str | None) -> Response:
    """`name` None: /me (the caller; anonymous has no /me in Jenkins either: 403 from the READ check)."""
    who = auth.name if name is None else name
    if who not in app.security.users:
        return not_found()
    return answer(app, request, user_bean(app, who, app.root_url(request)))


def post_generate_token(app: JenkinsLite, request: Request, auth: Auth, name: str | None) -> Response:
    """doGenerateNewToken: only for oneself (ADMIN_CAN_GENERATE_NEW_TOKENS is false by default);
    answers {"status":"ok","data":{tokenName, tokenUuid, tokenValue}} (HttpResponses.okJSON)."""
    who = auth.name if name is None else name
    if who not in app.security.users:
        return not_found()
    if who != auth.name:
        return html_page(403, "Forbidden", "<h1>Forbidden</h1>")  # HttpResponses.forbidden()
    token_name = (request.param("newTokenName") or "").strip()
    if not token_name:
        token_name = "Token created on " + time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    token, value = app.tokens.generate(who, token_name)
    app.log(f"API token {token.uuid} ({token_name}) generated for {who}")
    return json_response(
        {"status": "ok", "data": {"tokenName": token_name, "tokenUuid": token.uuid, "tokenValue": value}}
    )


def post_revoke_token(app: JenkinsLite, request: Request, auth: Auth, name: str | None) -> Response:
    """doRevoke: the user or an administrator; 200 (HttpResponses.ok) whether or not the uuid existed."""
    who = auth.name if name is None else name
    if who not in app.security.users:
        return not_found()
    if who != auth.name and not auth.has(Permission.ADMINISTER):
        return html_page(403, "Forbidden", "<h1>Forbidden</h1>")
    token_uuid = request.param("tokenUuid") or ""
    if app.tokens.revoke(who, token_uuid):
        app.log(f"API token {token_uuid} of {who} revoked by {auth.name}")
    return Response(200)
