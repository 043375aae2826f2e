"""Inputs the fuzzer turned into 500s or HTML pages: page limits, deep and oversized bodies, users' is_active."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import URLResolver, get_resolver

from accounts.models import User
from accounts.roles import Role
from workflow_site.api import LONG_TEXT, MAX_JSON_DEPTH, MAX_LIMIT, SHORT_TEXT

pytestmark = pytest.mark.django_db


def _list_paths(patterns=None, prefix: str = "") -> list[str]:
    """Every router list endpoint (GET -> list) under /api/, from the URL resolver: new ones are covered as added."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _list_paths(pattern.url_patterns, route)
        elif (getattr(pattern.callback, "actions", None) or {}).get("get") == "list":
            paginated = pattern.callback.cls.pagination_class is not None
            found.append(("/" + route.replace("^", "").replace("$", ""), paginated))
    # The router's `.json` format-suffix twins carry a `(?P<format>...)` group: same view, skipped.
    return sorted(path for path in found if path[0].startswith("/api/") and "(?P" not in path[0])


LISTS = _list_paths()
LIST_PATHS = [path for path, _paginated in LISTS]
BAD_PAGES = {
    "limit past bigint": ("limit", "99999999999999999999"),
    "limit of 5,000 digits": ("limit", "9" * 5000),
    "limit past the maximum": ("limit", str(MAX_LIMIT + 1)),
    "zero limit": ("limit", "0"),
    "negative limit": ("limit", "-1"),
    "non-numeric limit": ("limit", "abc"),
    "empty limit": ("limit", ""),
    "offset past bigint": ("offset", "99999999999999999999"),
    "negative offset": ("offset", "-5"),
}


@pytest.fixture
def admin_client(api_client, make_user):
    api_client.force_authenticate(make_user(Role.ADMIN, is_superuser=True, agency=None))
    return api_client


def test_the_list_endpoints_are_found():
    assert {"/api/v1/plans/", "/api/v1/proposals/", "/api/v1/users/", "/api/v1/notifications/"} <= set(LIST_PATHS)


@pytest.mark.parametrize(("path", "paginated"), LISTS)
def test_every_list_refuses_a_bad_page_with_a_400_naming_the_parameter(admin_client, path, paginated):
    for case, (name, value) in BAD_PAGES.items():
        response = admin_client.get(path, {name: value})
        if not paginated:  # a list that is never paged (a user's own tokens) ignores the parameters, whatever they are
            assert response.status_code == 200, (case, response.content[:300])
            continue
        assert response.status_code == 400, (case, response.status_code, response.content[:300])
        assert list(response.json()) == [name], case
        assert str(MAX_LIMIT if name == "limit" else 0) in response.json()[name][0], case
    response = admin_client.get(path, {"limit": MAX_LIMIT, "offset": 10**9})
    assert response.status_code == 200, response.content[:300]
    assert not paginated or response.json()["results"] == []


def test_the_schema_states_the_page_bounds(admin_client):
    schema = admin_client.get("/api/schema/", {"format": "json"}).json()
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/plans/"]["get"]["parameters"]}
    assert parameters["limit"] | {} == {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}
    assert parameters["offset"]["minimum"] == 0


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_deeply_nested_json_is_a_400_even_anonymously_on_the_token_endpoint(api_client):
    # Python's parser gives up near 1,000 levels with a RecursionError: a 500 before.
    response = api_client.post("/api/v1/auth/token/", nested(100_000), content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert "巢狀" in response.json()["detail"]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(admin_client, depth):
    body = '{"title": ' + nested(depth) + "}"
    for path in ("/api/v1/proposals/", "/api/v1/agencies/", "/api/v1/users/", "/api/v1/progress-reports/"):
        response = admin_client.post(path, body, content_type="application/json")
        assert response.status_code == 400, (path, response.content[:300])
        assert "巢狀" in response.json()["detail"], path


def test_json_as_deep_as_the_limit_is_parsed(admin_client):
    # Depth 32 parses; the agency serializer then refuses the field, as it would any list.
    body = '{"code": "X", "name": ' + nested(MAX_JSON_DEPTH - 1) + "}"
    response = admin_client.post("/api/v1/agencies/", body, content_type="application/json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_an_oversized_json_body_is_a_json_400_naming_the_limit(admin_client, api_client):
    body = '{"title": "' + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"}'
    for client, path in ((admin_client, "/api/v1/proposals/"), (api_client, "/api/v1/auth/token/")):
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == 400
        assert response.json() == {
            "detail": "請求內容超過上限 2.5 MB。",
            "code": "request_too_large",
            "limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
        }


def test_the_json_parser_bounds_the_body_even_without_the_middleware(admin_client):
    middleware = [m for m in settings.MIDDLEWARE if m != "workflow_site.middleware.ApiRequestSizeMiddleware"]
    body = '{"title": "' + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"}'
    with override_settings(MIDDLEWARE=middleware):
        response = admin_client.post("/api/v1/agencies/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "request_too_large"


def test_an_oversized_upload_is_a_json_400_naming_the_limit(admin_client):
    upload = SimpleUploadedFile("plans.csv", b"x" * (settings.UPLOAD_MAX_REQUEST_SIZE + 1))
    response = admin_client.post("/api/v1/plans/import/", {"file": upload, "year": 115}, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "request_too_large"
    assert "21 MB" in response.json()["detail"]


def test_oversized_and_too_many_form_fields_are_json_400s_not_html(admin_client):
    big = {"year": "115", "note": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    response = admin_client.post("/api/v1/plans/import/", big, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "request_too_large"
    many = {f"f{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = admin_client.post("/api/v1/plans/import/", many, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "request_too_large"
    assert str(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS) in response.json()["detail"]


@pytest.mark.parametrize("is_active", [False, True])
def test_users_are_created_active_or_not_as_asked(admin_client, is_active):
    data = {
        "username": "newbie",
        "password": "Correct-horse-2026",
        "roles": [Role.AGENCY_CLERK],
        "is_active": is_active,
    }
    response = admin_client.post("/api/v1/users/", data, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["is_active"] is is_active
    assert User.objects.get(username="newbie").is_active is is_active


def test_a_user_created_without_is_active_is_active(admin_client):
    data = {"username": "plain", "password": "Correct-horse-2026"}
    response = admin_client.post("/api/v1/users/", data, format="json")
    assert response.status_code == 201, response.content
    assert User.objects.get(username="plain").is_active


def _request_schemas(schema: dict) -> dict[str, dict]:
    """Every component a request body refers to, directly or nested, by name."""
    components, found = schema["components"]["schemas"], {}
    stack = [
        media["schema"]
        for operations in schema["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict)
        for media in operation.get("requestBody", {}).get("content", {}).values()
    ]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "$ref" in node:
                name = node["$ref"].rsplit("/", 1)[-1]
                if name not in found:
                    found[name] = components[name]
                    stack.append(components[name])
            else:
                stack += list(node.values())
        elif isinstance(node, list):
            stack += node
    return found


# Credentials are not free text: Django's validators judge passwords, usernames have their column's length.
NOT_FREE_TEXT = {"AuthToken.username", "AuthToken.password", "User.password", "PatchedUser.password"}


def test_every_free_text_a_request_takes_has_a_length_limit(admin_client):
    schema = admin_client.get("/api/schema/", {"format": "json"}).json()
    unbounded = [
        f"{name}.{field}"
        for name, component in _request_schemas(schema).items()
        for field, spec in component.get("properties", {}).items()
        if spec.get("type") == "string"
        and not spec.get("readOnly")
        and not {"enum", "format", "pattern", "maxLength"} & set(spec)
        and f"{name}.{field}" not in NOT_FREE_TEXT
    ]
    assert unbounded == []


def test_free_text_past_its_limit_is_a_400_naming_the_field(api_client, make_user):
    from proposals import services
    from proposals.tests.factories import agency_people, make_round

    officer = make_user(Role.RDEC_OFFICER)
    round_ = make_round(officer)
    services.round_open(round_id=round_.pk, actor=officer)
    _agency, clerk, _head = agency_people("PWB")
    api_client.force_authenticate(clerk)
    draft = {"round": round_.pk, "title": "標題", "summary": "摘"}
    response = api_client.post("/api/v1/proposals/", {**draft, "approach": "字" * (LONG_TEXT + 1)}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["approach"]
    assert f"{LONG_TEXT}" in response.json()["approach"][0]
    response = api_client.post("/api/v1/proposals/", {**draft, "approach": "字" * LONG_TEXT}, format="json")
    assert response.status_code == 201, response.json()
    proposal = response.json()["id"]
    api_client.force_authenticate(officer)
    response = api_client.post(
        f"/api/v1/proposals/{proposal}/return/", {"reason": "理" * (SHORT_TEXT + 1)}, format="json"
    )
    assert response.status_code == 400
    assert f"{SHORT_TEXT}" in response.json()["reason"][0]
