"""Query filters that refuse what they do not understand: django-filter's BooleanFilter reads `?unread=bogus` as
"no filter" and answers the whole list; this one answers 400 naming the parameter."""

from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

TRUE = ("true", "True", "1")
FALSE = ("false", "False", "0")


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(filters.TypedChoiceFilter):
    """`true`/`false` (or 1/0); absent or empty: no filter; anything else: 400."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [(value, value) for value in (*TRUE, *FALSE)])
        kwargs.setdefault("coerce", lambda value: value in TRUE)
        super().__init__(*args, **kwargs)


class StrictFilterSet(filters.FilterSet):
    """A FilterSet whose generated boolean filters are StrictBooleanFilter (`filterset_fields` on a model's
    BooleanField): name it as the view's filterset_class."""

    FILTER_DEFAULTS = {
        **filters.FilterSet.FILTER_DEFAULTS,
        **{
            field: {"filter_class": StrictBooleanFilter}
            for field, spec in filters.FilterSet.FILTER_DEFAULTS.items()
            if spec.get("filter_class") is filters.BooleanFilter
        },
    }


class StrictFilterBackend(filters.DjangoFilterBackend):
    """The project's filter backend (REST_FRAMEWORK's DEFAULT_FILTER_BACKENDS): the filtersets it builds from a
    view's `filterset_fields` are StrictFilterSets, so every list refuses a boolean it does not understand."""

    filterset_base = StrictFilterSet
