"""The OpenAPI schema documents the error answers too: a client (and schemathesis, tests/test_api_fuzz.py) may rely on
every status code the API gives being listed with its body. The shapes are workflow_site.api.exception_handler's."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """A refusal: `detail` in Traditional Chinese; `code` (workflow_site.errors and the apps' `Code`s) when the service
    layer refused, with any details the code carries."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)


# For a read that has nothing to show before its stage (results before finalising): `@extend_schema(responses={200:
# ..., 409: STAGE_CONFLICT})`.
STAGE_CONFLICT = OpenApiResponse(ErrorSerializer, description="Not at this stage yet; `code` says which.")

VALIDATION_ERROR = ResolvedComponent(
    name="ValidationError",
    type=ResolvedComponent.SCHEMA,
    object="ValidationError",
    schema={
        "type": "object",
        "description": "`{field: [messages]}` (`non_field_errors` for the whole input; a nested field nests its "
        "messages the same way), or `{detail, code}` for a body that could not be read (malformed, too large).",
        "additionalProperties": {
            "anyOf": [{"type": "array", "items": {}}, {"type": "object"}, {"type": "string"}, {"type": "integer"}]
        },
    },
)

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's, plus the error answers each operation can give, unless the view documents its own:
    400 when it takes input, 401 and 403 when it authenticates, 404 when the path names an object, 409 when it
    writes (a transition from the wrong state, a concurrent update), 429 when it is throttled."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        error = self.resolve_serializer(ErrorSerializer, "response")
        errors = {}
        takes_query = any(p["in"] == "query" for p in operation.get("parameters", []))
        if takes_query or "requestBody" in operation or self.method in UNSAFE:
            errors["400"] = ("The input was refused; see the messages.", VALIDATION_ERROR)
        if self.view.get_authenticators():
            errors["401"] = ("Not signed in, or the token has expired or was revoked.", error)
            errors["403"] = ("Signed in, but not allowed to do this.", error)
        if "{" in path:
            errors["404"] = ("No such object, or one the caller may not see.", error)
        if self.method in UNSAFE:
            errors["409"] = ("Not now: the object is in another state, or changed meanwhile.", error)
        if self.view.get_throttles():
            errors["429"] = ("Too many requests; see the Retry-After header.", error)
        for status, (description, component) in errors.items():
            if status not in operation["responses"]:
                registry.register_on_missing(component)
                operation["responses"][status] = {
                    "content": {"application/json": {"schema": component.ref}},
                    "description": description,
                }
        return operation
