"""The OpenAPI document, generated from the routes that serve the API.

quart-schema reads the routes' ``document_*``, ``tag`` and ``security_scheme`` decorators. This
provider adds what it cannot infer and the platform's conventions (contract §1-§4), so that the
routes stay the single source of truth:

* ids in paths (parameters named ``*_id``) are UUIDs;
* every operation takes an optional ``X-Correlation-ID`` and every response carries one;
* response headers (``Location``) sit where OpenAPI wants them (quart-schema nests them under
  ``content``);
* links between operations (:func:`document_links`), for clients and stateful testing;
* non-JSON bodies, requests and responses (:func:`document_media`), e.g. CSV, Prometheus text;
* the trailing-slash aliases of the collection paths are left out: they answer the same
  operation, and one operation id per operation keeps generated clients sane;
* the anonymous security alternative (``{}``) only while the app allows anonymous internal
  callers (``app.config[ANONYMOUS_CALLERS_CONFIG]``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from quart_schema import OpenAPIProvider
from quart_schema.openapi import QUART_SCHEMA_OPERATION_ID_ATTRIBUTE, SecuritySchemeBase
from werkzeug.routing.converters import BaseConverter
from werkzeug.routing.rules import Rule

from huleedu_service_libs.http.correlation import CORRELATION_HEADER
from huleedu_service_libs.http.openapi_errors import ERROR_DESCRIPTIONS, ErrorBody

ANONYMOUS_CALLERS_CONFIG = "HULEEDU_ANONYMOUS_INTERNAL_CALLERS"
UUID_SCHEMA: dict[str, Any] = {"type": "string", "format": "uuid"}

_LINKS_ATTRIBUTE = "_huleedu_openapi_links"
_MEDIA_RESPONSES_ATTRIBUTE = "_huleedu_openapi_media_responses"
_MEDIA_REQUESTS_ATTRIBUTE = "_huleedu_openapi_media_requests"

FuncT = TypeVar("FuncT", bound=Callable[..., object])


@dataclass
class HeaderKeyScheme(SecuritySchemeBase):
    """A header API-key scheme with a description (quart-schema's own drops descriptions)."""

    name: str
    description: str
    in_: Literal["header"] = field(default="header", metadata={"alias": "in"})
    type: Literal["apiKey"] = "apiKey"


def document_links(status: int, links: Mapping[str, Mapping[str, str]]) -> Callable[[FuncT], FuncT]:
    """OpenAPI links of the ``status`` response: ``{operation_id: {parameter: expression}}``.

    E.g. ``document_links(201, {"get_class": {"class_id": "$response.body#/id"}})``.
    """

    def decorator(func: FuncT) -> FuncT:
        by_status: dict[int, dict[str, Mapping[str, str]]] = getattr(func, _LINKS_ATTRIBUTE, {})
        by_status.setdefault(status, {}).update(links)
        setattr(func, _LINKS_ATTRIBUTE, by_status)
        return func

    return decorator


def document_media(
    media_type: str,
    schema: Mapping[str, Any],
    *,
    status: int | None = None,
    description: str = "",
) -> Callable[[FuncT], FuncT]:
    """A non-JSON body: the request's (``status`` None) or the response's for ``status``."""

    def decorator(func: FuncT) -> FuncT:
        if status is None:
            requests: dict[str, Mapping[str, Any]] = getattr(func, _MEDIA_REQUESTS_ATTRIBUTE, {})
            requests[media_type] = schema
            setattr(func, _MEDIA_REQUESTS_ATTRIBUTE, requests)
        else:
            responses: dict[int, tuple[str, Mapping[str, Any], str]] = getattr(
                func, _MEDIA_RESPONSES_ATTRIBUTE, {}
            )
            responses[status] = (media_type, schema, description)
            setattr(func, _MEDIA_RESPONSES_ATTRIBUTE, responses)
        return func

    return decorator


_CORRELATION_PARAMETER: dict[str, Any] = {
    "name": CORRELATION_HEADER,
    "in": "header",
    "required": False,
    "description": "Honoured when it is a canonical UUID; otherwise the service mints one.",
    "schema": {"type": "string"},
}
_CORRELATION_RESPONSE_HEADER: dict[str, Any] = {
    "description": "The effective correlation id of the request",
    "required": True,
    "schema": UUID_SCHEMA,
}


class PlatformOpenAPIProvider(OpenAPIProvider):
    """quart-schema's provider with the platform's conventions (module docstring)."""

    _cached: dict[str, Any] | None = None

    def schema(self) -> dict[str, Any]:
        """The document, built once (routes do not change once the app serves); read-only."""
        if self._cached is None:
            self._cached = super().schema()
        return self._cached

    def generate_rules(self) -> Iterable[Rule]:
        # Quart's static-file route serves nothing here (no static folder): not part of the API.
        rules = [rule for rule in super().generate_rules() if rule.endpoint != "static"]
        templates = {(rule.endpoint, rule.rule) for rule in rules}
        for rule in rules:
            alias_of = rule.rule.rstrip("/")
            if rule.rule != alias_of and alias_of and (rule.endpoint, alias_of) in templates:
                continue
            yield rule

    def build_path_parameter(self, name: str, converter: BaseConverter) -> dict[str, Any]:
        parameter = super().build_path_parameter(name, converter)
        if name.endswith("_id"):
            parameter["schema"] = dict(UUID_SCHEMA)
        return parameter

    def build_querystring_parameters(
        self, model: Any
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        parameters, definitions = super().build_querystring_parameters(model)
        for parameter in parameters:
            if parameter["schema"].get("type") == "array":
                # Lists travel comma-separated in one parameter: ?batch_ids=a,b
                parameter["style"] = "form"
                parameter["explode"] = False
        return parameters, definitions

    def build_request_body(self, model: Any, source: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        body, definitions = super().build_request_body(model, source)
        for media in body["content"].values():
            media["schema"] = _as_component(media["schema"], definitions)
        return body, definitions

    def build_response_object(
        self, model: Any, headers_model: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        response, definitions = super().build_response_object(model, headers_model)
        media = response["content"]["application/json"]
        media["schema"] = _as_component(media["schema"], definitions)
        nested = response["content"].pop("headers", None)
        if nested:
            response["headers"] = {
                name.title(): {"required": True, **header} for name, header in nested.items()
            }
        return response, definitions

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        func = self._app.view_functions[rule.endpoint]
        for path_item in paths.values():
            for method, operation in list(path_item.items()):
                path_item[method] = self._complete(copy.deepcopy(operation), func)
        return paths, components

    def operation_id(self, method: str, path: str, func: Callable[..., Any]) -> str | None:
        return str(getattr(func, QUART_SCHEMA_OPERATION_ID_ATTRIBUTE, func.__name__))

    def _complete(self, operation: dict[str, Any], func: Callable[..., Any]) -> dict[str, Any]:
        if not operation.get("description"):
            operation.pop("description", None)
        operation["parameters"].append(dict(_CORRELATION_PARAMETER))
        media_requests: dict[str, Mapping[str, Any]] = getattr(func, _MEDIA_REQUESTS_ATTRIBUTE, {})
        if media_requests:
            content = operation.setdefault("requestBody", {}).setdefault("content", {})
            content.update(
                {media: {"schema": dict(schema)} for media, schema in media_requests.items()}
            )
        if "requestBody" in operation:
            operation["requestBody"]["required"] = True
        media_responses = getattr(func, _MEDIA_RESPONSES_ATTRIBUTE, {})
        for status, (media_type, schema, description) in media_responses.items():
            operation["responses"][status] = {
                "description": description,
                "content": {media_type: {"schema": dict(schema)}},
            }
        links = getattr(func, _LINKS_ATTRIBUTE, {})
        error_schema_title = ErrorBody.__name__
        for status, response in operation["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref", "").endswith(f"/{error_schema_title}"):
                response["description"] = ERROR_DESCRIPTIONS.get(int(status), "Error")
            elif not response.get("description"):
                response["description"] = "Success"
            response.setdefault("headers", {})[CORRELATION_HEADER] = dict(
                _CORRELATION_RESPONSE_HEADER
            )
            if status in links:
                response["links"] = {
                    name: {"operationId": name, "parameters": dict(parameters)}
                    for name, parameters in links[status].items()
                }
        if "security" in operation and not self._app.config.get(ANONYMOUS_CALLERS_CONFIG, True):
            operation["security"] = [item for item in operation["security"] if item]
        return operation


def _as_component(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """A model's schema as a named component and a reference to it, so that each body type is
    described once (e.g. the one ``ErrorBody``) and generated clients get its name."""
    title = schema.get("title")
    if not isinstance(title, str) or "$ref" in schema:
        return schema
    definitions[title] = schema
    return {"$ref": f"#/components/schemas/{title}"}
