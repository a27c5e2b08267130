"""The OpenAPI 3.1 document: FastAPI's for the fixed routes, plus one path per report of the catalog.

Each ``/reports/<name>`` gets its typed query parameters (type and range from the SQL type, default
when constant, required when the SQL parameter has no default), the paging and format parameters,
the description from the function's COMMENT, and the row schema of its result columns; every
error status has the JSON error schema of :mod:`reports_http.errors`.
"""

from __future__ import annotations

from typing import Any

from reports_core.catalog import Catalog, Parameter, Report
from reports_core.formats import Format
from reports_core.params import MAX_OFFSET, RESERVED

_NUMBER = ["number", "string"]  # numeric NaN/Infinity are written as strings (formats.encoding)
_SCALARS: dict[str, dict[str, Any]] = {
    "smallint": {"type": "integer", "minimum": -(2**15), "maximum": 2**15 - 1},
    "integer": {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1},
    "bigint": {"type": "integer", "format": "int64", "minimum": -(2**63), "maximum": 2**63 - 1},
    "numeric": {"type": _NUMBER},
    "real": {"type": _NUMBER, "format": "float"},
    "double precision": {"type": _NUMBER, "format": "double"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "timestamp with time zone": {"type": "string", "format": "date-time"},
    "timestamp without time zone": {"type": "string"},
    "text": {"type": "string"},
    "character varying": {"type": "string"},
    "uuid": {"type": "string", "format": "uuid"},
    "json": {},
    "jsonb": {},
}
_ERRORS = {
    "400": "A parameter is invalid (named in the message), or the report refused a value (SQLSTATE 22xxx)",
    "401": "No identity, or an invalid one (see WWW-Authenticate)",
    "403": "The report refused this caller (SQLSTATE 42501)",
    "404": "No such report",
    "406": "None of the media types in Accept is available",
    "500": "Internal error (with a request id)",
    "503": "The database is unavailable (retry after Retry-After seconds)",
    "504": "The report exceeded the statement timeout (SQLSTATE 57014)",
}
_STRING = {"schema": {"type": "string"}}
#: Headers of a report answer (reports_http.fastpath; absent while the data version is unknown).
CACHE_HEADERS: dict[str, Any] = {
    "ETag": {"description": "Weak tag of the data version and the request (for If-None-Match)", **_STRING},
    "Last-Modified": {"description": "Oldest refresh time of the summaries the report reads", **_STRING},
    "Cache-Control": {"description": "private, max-age=<REPORTS_CACHE_TTL>", **_STRING},
}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message", "detail", "hint"],
    "properties": {
        "code": {"type": "string", "description": "SQLSTATE"},
        "message": {"type": "string"},
        "detail": {"type": ["string", "null"]},
        "hint": {"type": ["string", "null"]},
        "request_id": {"type": "string"},
    },
}
META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "report": {"type": "string"},
        "params": {"type": "object", "description": "Every parameter as used (defaults included)"},
        "columns": {"type": "array", "items": {"type": "object"}},
        "row_count": {"type": "integer", "description": "Rows in data"},
        "total_rows": {"type": ["integer", "null"], "description": "Rows of the whole result"},
        "limit": {"type": ["integer", "null"]},
        "offset": {"type": "integer"},
        "refreshed_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


def value_schema(sql_type: str) -> dict[str, Any]:
    """JSON schema of a (non-null) value of a PostgreSQL type as the API writes it."""
    if sql_type.endswith("[]"):
        return {"type": "array", "items": value_schema(sql_type[:-2])}
    return dict(_SCALARS.get(sql_type, {"type": "string"}))


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "type" not in schema:
        return schema
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {**schema, "type": [*kinds, "null"]}


def _parameter(p: Parameter) -> dict[str, Any]:
    schema = value_schema(p.type)
    if p.has_default and p.default is not None:
        schema["default"] = p.default
    default = f" Default: `{p.default_expression}`." if p.has_default else ""
    spec: dict[str, Any] = {
        "name": p.name,
        "in": "query",
        "required": p.required,
        "schema": schema,
        "description": f"SQL type `{p.type}`.{default}",
    }
    if p.type.endswith("[]"):
        spec.update(style="form", explode=False)
    return spec


def _http_parameters(max_rows: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": f"Rows per page (JSON: default and maximum {max_rows}; other formats: all rows)",
            "schema": {"type": "integer", "minimum": 0, "maximum": max_rows},
        },
        {
            "name": "offset",
            "in": "query",
            "required": False,
            "description": "Rows to skip",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
        },
        {
            "name": "format",
            "in": "query",
            "required": False,
            "description": "Output format (overrides Accept)",
            "schema": {"type": "string", "enum": [f.value for f in Format]},
        },
    ]


def _row_schema(report: Report) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [c.name for c in report.columns],
        "properties": {c.name: nullable(value_schema(c.type)) for c in report.columns},
    }


def _operation(report: Report, max_rows: int) -> dict[str, Any]:
    row = {"$ref": f"#/components/schemas/{report.name}_row"}
    page = {
        "type": "object",
        "required": ["data", "meta"],
        "properties": {
            "data": {"type": "array", "items": row},
            "meta": {"$ref": "#/components/schemas/ReportMeta"},
        },
    }
    binary = {"type": "string", "contentEncoding": "binary"}
    content = {
        Format.JSON.media_type: {"schema": page},
        Format.NDJSON.media_type: {"schema": row},
        "text/csv": {"schema": {"type": "string"}},
        Format.XLSX.media_type: {"schema": binary},
        Format.PDF.media_type: {"schema": binary},
    }
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    parameters = [_parameter(p) for p in report.parameters if p.name not in RESERVED]
    return {
        "operationId": f"report_{report.name}",
        "tags": ["reports"],
        "summary": report.summary,
        "description": report.comment,
        "parameters": parameters + _http_parameters(max_rows),
        "responses": {
            "200": {"description": "The report's rows", "content": content, "headers": CACHE_HEADERS},
            "304": {
                "description": "Not modified: If-None-Match holds the current ETag (the report did not run)",
                "headers": CACHE_HEADERS,
            },
            **{status: {"description": text, "content": error} for status, text in _ERRORS.items()},
        },
    }


SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "gateway-headers": {
        "type": "apiKey",
        "in": "header",
        "name": "X-User-Id",
        "description": "The user id (X-User-Roles: comma-separated roles); set by the gateway only.",
    },
}


def with_reports(
    base: dict[str, Any], catalog: Catalog | None, *, max_rows: int, auth: str
) -> dict[str, Any]:
    """``base`` (FastAPI's document of the fixed routes) plus every report of ``catalog``; ``auth`` is
    ``REPORTS_AUTH`` (its security scheme applies to every report)."""
    document = {**base, "openapi": "3.1.0", "paths": dict(base.get("paths", {}))}
    components = dict(document.get("components", {}))
    schemas = {**components.get("schemas", {}), "Error": ERROR_SCHEMA, "ReportMeta": META_SCHEMA}
    scheme = SECURITY_SCHEMES.get(auth)
    for report in catalog.reports.values() if catalog else ():
        operation = _operation(report, max_rows)
        if scheme is not None:
            operation["security"] = [{auth: []}]
        document["paths"][f"/reports/{report.name}"] = {"get": operation}
        schemas[f"{report.name}_row"] = _row_schema(report)
    components["schemas"] = schemas
    if scheme is not None:
        components["securitySchemes"] = {**components.get("securitySchemes", {}), auth: scheme}
    document["components"] = components
    return document
