"""The frame of every page a person sees: who answered (lite, which master), who is logged in, the HAProxy
stats link, the crumb for the page's forms, and the few lines of CSS and JavaScript the pages share."""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from urllib.parse import quote

from labgen_lite.app import JenkinsLite
from labgen_lite.identity import PRODUCT
from labgen_lite.security import CRUMB_FIELD, Auth
from labgen_lite.web import Request, Response


def esc(text: object) -> str:
    """Every string that reaches HTML goes through here (job names, parameters, console text, users)."""
    return html.escape(str(text), quote=True)


def job_url(name: str) -> str:
    return f"/job/{quote(name, safe='')}/"


@dataclass(frozen=True)
class PageContext:
    """The request's user and HTTP session: the session is made here when there is none, as layout.jelly does,
    so that the page's forms can carry a crumb bound to it."""

    auth: Auth
    session_id: str
    crumb: str
    new_cookie: str | None  # Set-Cookie value when the session was made for this page

    @classmethod
    def of(cls, app: JenkinsLite, request: Request, auth: Auth) -> PageContext:
        security = app.security
        session_id = security.session(request.cookies)
        cookie = None
        if session_id is None:
            # a user known by a remember-me cookie is kept in the new session (HttpSessionContextIntegrationFilter)
            session_id = security.new_session(auth.name if auth.remembered else None)
            cookie = f"{security.cookie_name}={session_id}; Path=/; HttpOnly"
        return cls(auth, session_id, security.crumb(auth, session_id), cookie)

    def crumb_input(self) -> str:
        return f"<input type='hidden' name='{CRUMB_FIELD}' value='{esc(self.crumb)}'>"


def page(
    app: JenkinsLite,
    ctx: PageContext | None,
    title: str,
    body: str,
    *,
    crumbs: list[tuple[str, str]] | None = None,
    status: int = 200,
    refresh: int | None = None,
) -> Response:
    """A whole page: header, lite banner, breadcrumbs, `body` (already escaped HTML), footer, script."""
    head_extra = f"<meta http-equiv='refresh' content='{refresh}'>" if refresh else ""
    trail = "".join(
        f" <span class='sep'>&rsaquo;</span> <a href='{esc(href)}'>{esc(text)}</a>" for text, href in crumbs or []
    )
    page_html = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(title)} [Jenkins]</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"{head_extra}<style>{CSS}</style></head>"
        f"<body data-crumb-field='{CRUMB_FIELD}' data-crumb='{esc(ctx.crumb) if ctx else ''}'>"
        f"{_header(app, ctx)}{_banner(app)}"
        f"<nav class='breadcrumbs'><a href='/'>Dashboard</a>{trail}</nav>"
        f"<main>{body}</main>{_footer(app)}<script>{SCRIPT}</script></body></html>\n"
    )
    response = Response(status, page_html.encode())
    response.headers.append(("Cache-Control", "no-cache,no-store,must-revalidate"))
    if ctx is not None and ctx.new_cookie:
        response.headers.append(("Set-Cookie", ctx.new_cookie))
    return response


def _header(app: JenkinsLite, ctx: PageContext | None) -> str:
    user = ""
    if ctx is not None and ctx.auth.user is not None:
        user = f"<span class='user'>{esc(ctx.auth.name)}</span> <a class='logout' href='/logout'>log out</a>"
    elif ctx is None:
        user = "<a href='/login'>log in</a>"
    return (
        "<header class='top'><a class='brand' href='/'>Jenkins <span class='lite-tag'>lite</span></a>"
        f"<span class='node'>served by <b id='lite-node'>{esc(app.node)}</b></span>"
        f"<span class='links'>{_stats_link(app)}{user}</span></header>"
    )


def _stats_link(app: JenkinsLite) -> str:
    url = app.config.stats_url
    if not url:
        return "<span class='muted' title='LABGEN_STATS_URL is not set'>HAProxy stats: not configured</span>"
    return f"<a id='haproxy-stats' href='{esc(url)}' target='_blank' rel='noopener'>HAProxy stats</a>"


def _banner(app: JenkinsLite) -> str:
    return (
        f"<div class='lite-banner' role='note'><b>{esc(PRODUCT)} {esc(app.version)}</b>: a stand-in for Jenkins, "
        f"NOT Jenkins. This page was answered by master <b>{esc(app.node)}</b> "
        f"(instance {esc(app.session_hash)}); after a failover, a reload shows the other master.</div>"
    )


def _footer(app: JenkinsLite) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    return (
        f"<footer>Page generated {esc(stamp)} by {esc(PRODUCT)} {esc(app.version)} on {esc(app.node)} "
        "&middot; <a href='api/json'>REST API</a></footer>"
    )


def ball(color: str, size: str = "") -> str:
    """Jenkins' status ball: blue, red, yellow, aborted, notbuilt, disabled; `_anime` while building."""
    base, anime = color.removesuffix("_anime"), color.endswith("_anime")
    title = BALL_TITLES.get(base, base) + (" (building)" if anime else "")
    classes = f"ball ball-{esc(base)}" + (" anime" if anime else "") + (f" {size}" if size else "")
    return f"<span class='{classes}' title='{esc(title)}' role='img' aria-label='{esc(title)}'></span>"


BALL_TITLES = {
    "blue": "Success",
    "red": "Failed",
    "yellow": "Unstable",
    "aborted": "Aborted",
    "notbuilt": "Not built",
    "disabled": "Disabled",
}

RESULT_COLORS = {"SUCCESS": "blue", "FAILURE": "red", "UNSTABLE": "yellow", "ABORTED": "aborted"}


def post_button(action: str, label: str, ctx: PageContext, css: str = "button", follow: str = "") -> str:
    """A form that POSTs with the crumb. With `follow`, the script posts it in the background (as Jenkins'
    Build Now does) and then opens `follow`; without the script the browser posts it itself."""
    data = f" data-follow='{esc(follow)}'" if follow else ""
    return (
        f"<form class='inline' method='post' action='{esc(action)}'{data}>{ctx.crumb_input()}"
        f"<button type='submit' class='{css}'>{esc(label)}</button></form>"
    )


CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#333;
background:#f6f7f9}
a{color:#204a87;text-decoration:none}a:hover{text-decoration:underline}
header.top{display:flex;align-items:center;gap:24px;background:#000;color:#fff;padding:8px 20px}
header.top a{color:#fff}.brand{font-size:20px;font-weight:600}
.lite-tag{background:#f0ad4e;color:#000;border-radius:4px;padding:1px 6px;font-size:13px;vertical-align:middle}
.node{color:#ddd}.node b{color:#fff}.links{margin-left:auto;display:flex;gap:16px;align-items:center}
.links .muted{color:#999}.user{font-weight:600}
.lite-banner{background:#fff3cd;border-bottom:1px solid #e0c97f;padding:6px 20px;font-size:13px}
nav.breadcrumbs{padding:8px 20px;background:#fff;border-bottom:1px solid #ddd}.sep{color:#999}
main{padding:16px 20px;max-width:1100px}
h1{font-size:22px;margin:4px 0 12px;display:flex;align-items:center;gap:10px}
h2{font-size:17px;margin:20px 0 8px}
footer{color:#777;font-size:12px;padding:16px 20px;border-top:1px solid #ddd;margin-top:24px}
table.grid{border-collapse:collapse;background:#fff;width:100%;border:1px solid #ccc}
.grid th,.grid td{padding:6px 10px;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:middle}
.grid th{background:#eef0f3;font-weight:600}.grid tr:hover td{background:#f9fafb}
.ball{display:inline-block;width:16px;height:16px;border-radius:50%;border:1px solid rgba(0,0,0,.25);
vertical-align:middle;flex:none}
.ball.big{width:26px;height:26px}
.ball-blue{background:#3b7dd8}.ball-red{background:#d24939}.ball-yellow{background:#f0c419}
.ball-aborted{background:#9e9e9e}.ball-notbuilt{background:#fff;border-style:dashed}
.ball-disabled{background:#ddd}.ball-notbuilt.anime{background:#8fb8ec;border-style:solid}
.anime{animation:pulse 1s ease-in-out infinite alternate}@keyframes pulse{from{opacity:1}to{opacity:.25}}
.button{background:#335a8f;color:#fff;border:0;border-radius:4px;padding:5px 12px;cursor:pointer;font:inherit}
.button:hover{background:#244570}.button.small{padding:2px 9px;font-size:13px}
.button.danger{background:#b03a2e}
form.inline{display:inline;margin:0}
.card{background:#fff;border:1px solid #ccc;border-radius:4px;padding:12px 16px;margin:0 0 16px}
.card h2{margin-top:0}.card ul{margin:0;padding-left:20px}ul.plain{list-style:none;padding-left:0}
.muted{color:#777}.notice{background:#dff0d8;border:1px solid #b2d8a6;padding:6px 12px;border-radius:4px}
.error{background:#f2dede;border:1px solid #d9a3a3;padding:6px 12px;border-radius:4px;color:#8a1f11}
pre.console{background:#1e1e1e;color:#e6e6e6;padding:12px;border-radius:4px;overflow:auto;
white-space:pre-wrap;word-break:break-all;font:13px/1.4 ui-monospace,Menlo,Consolas,monospace;min-height:60px}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:4px 16px;margin:0}dl.facts dt{color:#666}
dl.facts dd{margin:0}
.layout{display:flex;gap:20px;align-items:flex-start}.side{width:260px;flex:none}.content{flex:1;min-width:0}
.login{max-width:360px;margin:60px auto;background:#fff;border:1px solid #ccc;border-radius:6px;padding:24px}
.login h1{justify-content:center}.login input[type=text],.login input[type=password]{width:100%;padding:8px;
margin:0 0 12px;border:1px solid #bbb;border-radius:4px;font:inherit}.login .button{width:100%;padding:8px}
.params label{display:block;font-weight:600;margin-top:10px}.params .desc{color:#666;font-size:13px}
.params input[type=text],.params input[type=password],.params textarea,.params select{width:100%;max-width:480px;
padding:6px;border:1px solid #bbb;border-radius:4px;font:inherit}
"""

# Build Now and the parameters form post in the background with the page's crumb, as Jenkins' pages do, then
# open the page they name; a running build's console follows logText/progressiveText (X-Text-Size, X-More-Data).
SCRIPT = """
(function(){
var FOLLOW_TRIES=5;
var body=document.body;
function post(form,data){
  var fields=new URLSearchParams(data||new FormData(form));
  if(!fields.has(body.dataset.crumbField)){fields.set(body.dataset.crumbField,body.dataset.crumb);}
  return fetch(form.action,{method:'POST',body:fields,credentials:'same-origin',redirect:'manual'});
}
document.querySelectorAll('form[data-follow]').forEach(function(form){
  form.addEventListener('submit',function(event){
    event.preventDefault();
    var data=null;
    if(form.classList.contains('params')){
      var parameter=[];
      form.querySelectorAll('[data-param]').forEach(function(input){
        var value=input.type==='checkbox'?String(input.checked):input.value;
        parameter.push({name:input.dataset.param,value:value});
      });
      data=new FormData();
      data.set('json',JSON.stringify({parameter:parameter,statusCode:'303',redirectTo:'.'}));
    }
    post(form,data).then(function(answer){
      if(answer.status>=400){throw new Error('HTTP '+answer.status);}
      window.location.href=form.dataset.follow;
    }).catch(function(problem){
      var note=document.getElementById('post-problem');
      if(note){note.textContent='Could not schedule: '+problem.message+' (reload the page)';note.hidden=false;}
    });
  });
});
var log=document.getElementById('console');
if(log&&log.dataset.follow){
  // a failed poll is tried again a few times (a master busy reloading answers 503) before giving up
  var start=parseInt(log.dataset.start,10)||0, failures=0, decoder=new TextDecoder();
  var follow=function(){
    fetch(log.dataset.follow+'?start='+start,{credentials:'same-origin'}).then(function(answer){
      if(answer.status!==200){
        throw new Error('HTTP '+answer.status+' from '+(answer.headers.get('X-Labgen-Node')||'?'));
      }
      var more=answer.headers.get('X-More-Data')==='true';
      var size=parseInt(answer.headers.get('X-Text-Size'),10);
      return answer.arrayBuffer().then(function(bytes){
        failures=0;
        if(bytes.byteLength){log.appendChild(document.createTextNode(decoder.decode(bytes,{stream:more})));
          log.scrollTop=log.scrollHeight;}
        if(!isNaN(size)){start=size;}
        log.dataset.start=start;
        if(more){setTimeout(follow,1000);}else{window.location.reload();}
      });
    }).catch(function(problem){
      failures+=1;
      if(failures<FOLLOW_TRIES){setTimeout(follow,1000);return;}
      var note=document.getElementById('follow-problem');
      note.textContent='Stopped following the console: '+problem.message+'. Reload the page.';note.hidden=false;
    });
  };
  setTimeout(follow,1000);
}
})();
"""
