"""The OpenAPI schema documents the error answers too: a client (and schemathesis, tests/test_api_fuzz.py) may rely on
every status code the API gives being listed with its body. The shapes are workflow_site.api.exception_handler's."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent

ERROR = ResolvedComponent(
    name="Error",
    type=ResolvedComponent.SCHEMA,
    object="Error",
    schema={
        "type": "object",
        "description": "A refusal: `detail` in Traditional Chinese; `code` (workflow_site.errors and the apps' "
        "`Code`s) when the service layer refused, with any details the code carries.",
        "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
        "required": ["detail"],
        "additionalProperties": True,
    },
)
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
        errors = {}
        takes_query = any(p["in"] == "query" for p in operation.get("parameters", []))
        if takes_query or "requestBody" in operation or self.method in UNSAFE:
            errors["400"] = ("The input was refused; see the messages.", VALIDATION_ERROR)
        if self.view.get_authenticators():
            errors["401"] = ("Not signed in, or the token has expired or was revoked.", ERROR)
            errors["403"] = ("Signed in, but not allowed to do this.", ERROR)
        if "{" in path:
            errors["404"] = ("No such object, or one the caller may not see.", ERROR)
        if self.method in UNSAFE:
            errors["409"] = ("Not now: the object is in another state, or changed meanwhile.", ERROR)
        if self.view.get_throttles():
            errors["429"] = ("Too many requests; see the Retry-After header.", ERROR)
        for status, (description, component) in errors.items():
            if status not in operation["responses"]:
                registry.register_on_missing(component)
                operation["responses"][status] = {
                    "content": {"application/json": {"schema": component.ref}},
                    "description": description,
                }
        return operation
