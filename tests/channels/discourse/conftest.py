"""A local Discourse stand-in (Discourse is a hosted service nobody runs in a test suite)
speaking the documented REST endpoints with payloads modelled on real responses:
``/categories.json``, ``/latest.json`` and ``/c/{slug}/{id}.json`` (``topic_list`` with
``topics`` and ``more_topics_url``), ``/t/{id}.json`` (``post_stream.posts`` and
``post_stream.stream``, 20 posts per chunk), ``/t/{id}/posts.json?post_ids[]=``,
``/posts/{id}.json``, ``POST /posts.json``, ``/u/{username}/emails.json``; ``Api-Key`` /
``Api-Username`` checked (403 ``invalid_access``) and scripted 429s with ``Retry-After``."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from agentconsole.store import Store
from agentconsole.sync import SyncRunner
from agentconsole_discourse import DiscourseChannel
from tests.conftest import http_server, one_channel_config

API_KEY = "d1sc0urse-key"
API_USERNAME = "support"
CHUNK_SIZE = 20


def now_minus(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def cook(raw: str) -> str:
    """Markdown the way Discourse cooks the simple cases: paragraphs, comments removed."""
    raw = re.sub(r"<!--.*?-->", "", raw, flags=re.S).strip()
    return "\n".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in raw.split("\n\n") if p.strip()
    )


@dataclass
class User:
    id: int
    username: str
    name: str
    email: str
    staff: bool = False


@dataclass
class Forum:
    """The forum's state and a record of the requests it served."""

    base: str = ""
    per_page: int = 30
    categories: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"id": 5, "slug": "support", "name": "Support", "parent": None},
            {"id": 9, "slug": "billing", "name": "Billing", "parent": 5},
            {"id": 7, "slug": "lounge", "name": "Lounge", "parent": None},
        ]
    )
    users: dict[str, User] = field(
        default_factory=lambda: {
            "support": User(1, "support", "Acme Support", "support@acme.example", staff=True),
            "grace": User(12, "grace", "Grace Hopper", "grace@example.com"),
            "linus": User(13, "linus", "Linus T", "linus@example.org"),
            "system": User(-1, "system", "system", "no_email", staff=True),
        }
    )
    topics: dict[int, dict[str, Any]] = field(default_factory=dict)
    posts: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    #: (method, path prefix, Retry-After) answered 429 once each, in order.
    rate_limits: list[tuple[str, str, str]] = field(default_factory=list)
    #: When set, POST /posts.json stores the post and then fails like a dropped connection.
    drop_after_posting: bool = False
    next_topic: int = 100
    next_post: int = 1000

    # -- building the forum ------------------------------------------------------------------

    def add_topic(
        self,
        title: str,
        username: str,
        raw: str,
        *,
        category: int = 5,
        at: datetime | None = None,
        pinned: bool = False,
    ) -> int:
        self.next_topic += 1
        when = at or datetime.now(UTC)
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        self.topics[self.next_topic] = {
            "id": self.next_topic,
            "title": title,
            "slug": slug,
            "category_id": category,
            "created_at": when,
            "bumped_at": when,
            "pinned": pinned,
            "posts": [],
            "highest_post_number": 0,
        }
        self.add_post(self.next_topic, username, raw, at=when)
        return self.next_topic

    def add_post(
        self,
        topic_id: int,
        username: str,
        raw: str,
        *,
        reply_to: int | None = None,
        at: datetime | None = None,
        post_type: int = 1,
    ) -> dict[str, Any]:
        topic = self.topics[topic_id]
        user = self.users[username]
        self.next_post += 1
        topic["highest_post_number"] += 1
        when = at or datetime.now(UTC)
        post = {
            "id": self.next_post,
            "name": user.name,
            "username": user.username,
            "avatar_template": f"/letter_avatar_proxy/v4/letter/{user.username[0]}/8e7dd6/{{size}}.png",
            "created_at": stamp(when),
            "cooked": cook(raw),
            "raw": raw,
            "post_number": topic["highest_post_number"],
            "post_type": post_type,
            "updated_at": stamp(when),
            "reply_count": 0,
            "reply_to_post_number": reply_to,
            "quote_count": 0,
            "incoming_link_count": 0,
            "reads": 1,
            "readers_count": 0,
            "score": 0,
            "yours": False,
            "topic_id": topic_id,
            "topic_slug": topic["slug"],
            "display_username": user.name,
            "primary_group_name": None,
            "flair_name": None,
            "version": 1,
            "can_edit": True,
            "can_delete": True,
            "can_recover": False,
            "can_wiki": True,
            "read": True,
            "user_title": None,
            "bookmarked": False,
            "actions_summary": [],
            "moderator": user.staff,
            "admin": user.staff,
            "staff": user.staff,
            "user_id": user.id,
            "hidden": False,
            "trust_level": 1,
            "deleted_at": None,
            "user_deleted": False,
            "edit_reason": None,
            "can_view_edit_history": True,
            "wiki": False,
            "reviewable_id": 0,
            "reviewable_score_count": 0,
            "reviewable_score_pending_count": 0,
        }
        self.posts[post["id"]] = post
        topic["posts"].append(post["id"])
        if post_type != 3:
            topic["bumped_at"] = when
        return post

    # -- serializers -------------------------------------------------------------------------

    def post_json(self, post: dict[str, Any], include_raw: bool) -> dict[str, Any]:
        data = dict(post)
        if not include_raw:
            data.pop("raw")
        return data

    def topic_summary(self, topic: dict[str, Any]) -> dict[str, Any]:
        posts = [self.posts[i] for i in topic["posts"]]
        return {
            "id": topic["id"],
            "title": topic["title"],
            "fancy_title": html.escape(topic["title"]),
            "slug": topic["slug"],
            "posts_count": len(posts),
            "reply_count": len(posts) - 1,
            "highest_post_number": topic["highest_post_number"],
            "image_url": None,
            "created_at": stamp(topic["created_at"]),
            "last_posted_at": stamp(topic["bumped_at"]),
            "bumped": True,
            "bumped_at": stamp(topic["bumped_at"]),
            "archetype": "regular",
            "unseen": False,
            "pinned": topic["pinned"],
            "unpinned": None,
            "visible": True,
            "closed": False,
            "archived": False,
            "bookmarked": None,
            "liked": None,
            "views": 12,
            "like_count": 0,
            "has_summary": False,
            "last_poster_username": posts[-1]["username"],
            "category_id": topic["category_id"],
            "pinned_globally": False,
            "featured_link": None,
            "posters": [
                {
                    "extras": "latest",
                    "description": "Original Poster",
                    "user_id": posts[0]["user_id"],
                    "primary_group_id": None,
                }
            ],
        }

    def topic_list(self, category: int | None, page: int, path: str) -> dict[str, Any]:
        wanted = {c["id"] for c in self.categories if category in (c["id"], c["parent"])}
        topics = [t for t in self.topics.values() if category is None or t["category_id"] in wanted]
        topics.sort(key=lambda t: (not t["pinned"], -t["bumped_at"].timestamp()))
        shown = topics[page * self.per_page : (page + 1) * self.per_page]
        topic_list: dict[str, Any] = {
            "can_create_topic": True,
            "per_page": self.per_page,
            "top_tags": [],
            "topics": [self.topic_summary(t) for t in shown],
        }
        if (page + 1) * self.per_page < len(topics):
            base = path.removesuffix(".json")
            if category is not None and "/l/latest" not in base:
                base += "/l/latest"
            topic_list["more_topics_url"] = f"{base}?page={page + 1}"
        users = [
            {
                "id": u.id,
                "username": u.username,
                "name": u.name,
                "avatar_template": "/images/avatar.png",
                "trust_level": 1,
            }
            for u in self.users.values()
        ]
        return {"users": users, "primary_groups": [], "flair_groups": [], "topic_list": topic_list}


def _error(
    status: int,
    message: str,
    error_type: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    return web.json_response(
        {"errors": [message], "error_type": error_type, **extra}, status=status, headers=headers
    )


def make_app(forum: Forum) -> web.Application:
    routes = web.RouteTableDef()

    @web.middleware
    async def gatekeeper(request: web.Request, handler: Any) -> web.StreamResponse:
        forum.requests.append((request.method, request.path_qs))
        for index, (method, prefix, wait) in enumerate(forum.rate_limits):
            if request.method == method and request.path.startswith(prefix):
                del forum.rate_limits[index]
                return _error(
                    429,
                    "You’ve performed this action too many times. Please wait "
                    f"{wait} seconds before trying again.",
                    "rate_limit",
                    extras={"wait_seconds": int(wait), "time_left": f"{wait} seconds"},
                    headers={"Retry-After": wait},
                )
        if (
            request.headers.get("Api-Key") != API_KEY
            or request.headers.get("Api-Username") not in forum.users
        ):
            return _error(
                403,
                "You are not permitted to view the requested resource. The API "
                "username or key is invalid.",
                "invalid_access",
            )
        return await handler(request)

    @routes.get("/categories.json")
    async def categories(request: web.Request) -> web.Response:
        def serialize(category: dict[str, Any]) -> dict[str, Any]:
            data = {
                "id": category["id"],
                "name": category["name"],
                "slug": category["slug"],
                "color": "0088CC",
                "topic_count": 3,
                "post_count": 9,
                "position": 1,
                "description": None,
                "read_restricted": False,
                "permission": 1,
                "has_children": False,
                "subcategory_ids": [],
            }
            children = [c for c in forum.categories if c["parent"] == category["id"]]
            data["subcategory_ids"] = [c["id"] for c in children]
            if request.query.get("include_subcategories") == "true":
                data["subcategory_list"] = [serialize(c) for c in children]
            return data

        tops = [serialize(c) for c in forum.categories if c["parent"] is None]
        return web.json_response(
            {
                "category_list": {
                    "can_create_category": True,
                    "can_create_topic": True,
                    "categories": tops,
                }
            }
        )

    @routes.get("/latest.json")
    async def latest(request: web.Request) -> web.Response:
        return web.json_response(
            forum.topic_list(None, int(request.query.get("page", 0)), "/latest.json")
        )

    @routes.get(r"/c/{slug}/{id:\d+}.json")
    @routes.get(r"/c/{slug}/{id:\d+}/l/latest.json")
    async def category(request: web.Request) -> web.Response:
        category_id = int(request.match_info["id"])
        if not any(c["id"] == category_id for c in forum.categories):
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        path = f"/c/{request.match_info['slug']}/{category_id}.json"
        return web.json_response(
            forum.topic_list(category_id, int(request.query.get("page", 0)), path)
        )

    @routes.get(r"/t/{id:\d+}.json")
    async def topic(request: web.Request) -> web.Response:
        found = forum.topics.get(int(request.match_info["id"]))
        if found is None:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        include_raw = request.query.get("include_raw") == "true"
        stream = list(found["posts"])
        posts = [forum.post_json(forum.posts[i], include_raw) for i in stream[:CHUNK_SIZE]]
        return web.json_response(
            {
                "post_stream": {"posts": posts, "stream": stream},
                "timeline_lookup": [],
                "suggested_topics": [],
                "tags": [],
                "id": found["id"],
                "title": found["title"],
                "fancy_title": html.escape(found["title"]),
                "posts_count": len(stream),
                "created_at": stamp(found["created_at"]),
                "views": 12,
                "reply_count": len(stream) - 1,
                "like_count": 0,
                "last_posted_at": stamp(found["bumped_at"]),
                "visible": True,
                "closed": False,
                "archived": False,
                "has_summary": False,
                "archetype": "regular",
                "slug": found["slug"],
                "category_id": found["category_id"],
                "word_count": 120,
                "deleted_at": None,
                "user_id": posts[0]["user_id"],
                "featured_link": None,
                "pinned_globally": False,
                "pinned_at": None,
                "pinned_until": None,
                "image_url": None,
                "slow_mode_seconds": 0,
                "draft": None,
                "draft_key": f"topic_{found['id']}",
                "draft_sequence": 0,
                "posted": False,
                "unpinned": None,
                "pinned": found["pinned"],
                "current_post_number": 1,
                "highest_post_number": found["highest_post_number"],
                "last_read_post_number": None,
                "last_read_post_id": None,
                "deleted_by": None,
                "has_deleted": False,
                "actions_summary": [],
                "chunk_size": CHUNK_SIZE,
                "bookmarked": False,
                "bookmarks": [],
                "topic_timer": None,
                "message_bus_last_id": 3,
                "participant_count": 2,
                "show_read_indicator": False,
                "thumbnails": None,
                "details": {
                    "can_create_post": True,
                    "participants": [],
                    "created_by": {},
                    "last_poster": {},
                },
            }
        )

    @routes.get(r"/t/{id:\d+}/posts.json")
    async def topic_posts(request: web.Request) -> web.Response:
        topic_id = int(request.match_info["id"])
        if topic_id not in forum.topics:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        wanted = [int(i) for i in request.query.getall("post_ids[]", [])]
        include_raw = request.query.get("include_raw") == "true"
        posts = [
            forum.post_json(forum.posts[i], include_raw)
            for i in wanted
            if i in forum.posts and forum.posts[i]["topic_id"] == topic_id
        ]
        return web.json_response({"post_stream": {"posts": posts}, "id": topic_id})

    @routes.get(r"/posts/{id:\d+}.json")
    async def one_post(request: web.Request) -> web.Response:
        post = forum.posts.get(int(request.match_info["id"]))
        if post is None:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        return web.json_response(forum.post_json(post, include_raw=True))

    @routes.post("/posts.json")
    async def create_post(request: web.Request) -> web.StreamResponse:
        data = await request.json()
        topic_id = int(data.get("topic_id") or 0)
        if topic_id not in forum.topics:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        raw = str(data.get("raw") or "")
        if len(cook(raw)) < 20:
            return _error(422, "Body is too short (minimum is 20 characters)", "invalid_parameters")
        post = forum.add_post(
            topic_id,
            request.headers["Api-Username"],
            raw,
            reply_to=data.get("reply_to_post_number"),
        )
        if forum.drop_after_posting:  # the post is made, then the connection drops
            forum.drop_after_posting = False
            assert request.transport is not None
            request.transport.close()
        return web.json_response(forum.post_json(post, include_raw=True))

    @routes.get(r"/u/{username}/emails.json")
    async def emails(request: web.Request) -> web.Response:
        user = forum.users.get(request.match_info["username"])
        if user is None:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        return web.json_response(
            {
                "email": user.email,
                "secondary_emails": [],
                "unconfirmed_emails": [],
                "associated_accounts": [],
            }
        )

    app = web.Application(middlewares=[gatekeeper])
    app.add_routes(routes)
    return app


@pytest.fixture
async def forum() -> AsyncIterator[Forum]:
    state = Forum()
    async with http_server(make_app(state)) as base:
        state.base = base
        yield state


@pytest.fixture
def discourse_runner(store: Store, forum: Forum, runners: list[SyncRunner]) -> Any:
    """``make(**options)`` → a SyncRunner with one Discourse channel named ``forum``."""

    def make(**options: Any) -> SyncRunner:
        channel = {
            "type": "discourse",
            "url": forum.base,
            "api_username": API_USERNAME,
            "api_key_command": f"printf {API_KEY}",
            **options,
        }
        config = one_channel_config("forum", channel)
        runners.append(SyncRunner(store, config, plugin_classes={"discourse": DiscourseChannel}))
        return runners[-1]

    return make


def webhook_body(forum: Forum, post: dict[str, Any]) -> bytes:
    """A post_created webhook payload as Discourse sends it (WebHookPostSerializer)."""
    topic = forum.topics[post["topic_id"]]
    data = dict(post)
    data.update(
        {
            "topic_title": topic["title"],
            "topic_posts_count": len(topic["posts"]),
            "topic_filtered_posts_count": len(topic["posts"]),
            "topic_archetype": "regular",
            "category_id": topic["category_id"],
            "category_slug": "support",
        }
    )
    return json.dumps({"post": data}).encode()
