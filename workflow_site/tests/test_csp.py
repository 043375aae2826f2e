"""Headers and exposure (#12 item 7): a Content-Security-Policy on every response, the API schema and docs for
signed-in users only when API_DOCS_PUBLIC is off (production), uploaded files never served straight from MEDIA_URL."""

import importlib.util
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import clear_url_caches

from proposals import services
from proposals.tests.test_services import DOCX, setting  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/accounts/login/", "/api/v1/me/", "/api/docs/", "/no-such-page/"])
def test_every_response_carries_the_policy(client, path):
    response = client.get(path)
    policy = response["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}
    assert directives["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


def test_swagger_page_has_no_inline_script(client):
    page = client.get("/api/docs/").content.decode()
    assert "<script>" not in page
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


@override_settings(API_DOCS_PUBLIC=False)
@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/docs/?script=", "/api/redoc/"])
def test_schema_and_docs_need_sign_in_when_not_public(client, make_user, path):
    assert client.get(path).status_code in (401, 403)
    client.force_login(make_user())
    assert client.get(path).status_code == 200


@override_settings(API_DOCS_PUBLIC=True)
def test_schema_is_public_when_the_setting_says_so(client):
    assert client.get("/api/schema/").status_code == 200


def test_production_keeps_the_docs_private_by_default():
    source = (Path(__file__).resolve().parent.parent / "settings" / "production.py").read_text()
    assert 'API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)' in source


def debug_urlconf():
    """workflow_site/urls.py imported afresh while DEBUG is on (the module reads DEBUG when it is imported)."""
    path = Path(__file__).resolve().parent.parent / "urls.py"
    spec = importlib.util.spec_from_file_location("workflow_site.urls_debug_probe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_uploaded_files_are_not_served_from_media_url_even_with_debug(setting, api_client, client, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = str(tmp_path)
    _officer, round_, (_pwb, clerk, _head), _tb = setting
    proposal = services.proposal_create(actor=clerk, round_id=round_.pk, title="標題", summary="摘要")
    api_client.force_authenticate(clerk)
    response = api_client.post(
        f"/api/v1/proposals/{proposal.pk}/attachments/",
        {"file": SimpleUploadedFile("計畫書.docx", DOCX)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    attachment = proposal.attachments.get()
    assert (tmp_path / attachment.file.name).exists()
    url = settings.MEDIA_URL + attachment.file.name

    with override_settings(DEBUG=True):
        urlconf = debug_urlconf()
    clear_url_caches()
    try:
        with override_settings(ROOT_URLCONF=urlconf):
            client.force_login(clerk)  # even the uploader: only the permission-checked view serves it
            assert client.get(url).status_code == 404
    finally:
        clear_url_caches()
