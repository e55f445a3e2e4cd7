"""Generic validators, with kube-apiserver's exact messages.

Two layers, as in k8s.io/apimachinery/pkg/util/validation and pkg/api/validation:

* ``is_*`` functions check one string and return the list of problems as plain sentences
  (empty when valid), e.g. ``is_dns1123_label("Foo")``.
* ``validate_*`` functions check a field of an object and return ``FieldError``s carrying the
  field path, e.g. ``validate_labels(labels, "metadata.labels")``.

Name validators (``NameValidator``) take ``(name, prefix)``; ``prefix`` is true when the value
is a ``generateName`` that random characters will be appended to, so a trailing dash is fine.
``validate_object_meta`` and ``validate_object_meta_update`` check ``metadata`` on create and
update exactly as ``ValidateObjectMeta``/``ValidateObjectMetaUpdate`` do.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pilothouse.api.errors import FieldError, forbidden, invalid, required

Obj = dict[str, Any]
NameValidator = Callable[[str, bool], list[str]]

FIELD_IMMUTABLE = "field is immutable"
IS_NEGATIVE = "must be greater than or equal to 0"
IS_NOT_POSITIVE = "must be greater than zero"
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
DNS1035_LABEL_MAX = 63
LABEL_VALUE_MAX = 63
QUALIFIED_NAME_MAX = 63
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character"
)
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character"
)
_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)
_LABEL_VALUE_FMT = "(" + _QNAME_FMT + ")?"
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character"
)
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
_C_IDENTIFIER_FMT = "[A-Za-z_][A-Za-z0-9_]*"
_C_IDENTIFIER_MSG = (
    "a valid C identifier must start with alphabetic character or '_', followed by a string of "
    "alphanumeric characters or '_'"
)
_HTTP_HEADER_FMT = "[-A-Za-z0-9]+"
_HTTP_HEADER_MSG = "a valid HTTP header must consist of alphanumeric characters or '-'"
_PERCENT_FMT = "[0-9]+%"
_PERCENT_MSG = "a valid percent string must be a numeric string followed by an ending '%'"
_WILDCARD_FMT = "\\*\\." + _DNS1123_SUBDOMAIN_FMT
_WILDCARD_MSG = (
    "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, "
    "which must consist of lower case alphanumeric characters, '-' or '.' and end with an "
    "alphanumeric character"
)


def _full(fmt: str) -> re.Pattern[str]:
    return re.compile("(?:" + fmt + ")")


_DNS1123_LABEL_RE = _full(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = _full(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE = _full(_DNS1035_LABEL_FMT)
_QNAME_RE = _full(_QNAME_FMT)
_LABEL_VALUE_RE = _full(_LABEL_VALUE_FMT)
_CONFIG_KEY_RE = _full(_CONFIG_KEY_FMT)
_C_IDENTIFIER_RE = _full(_C_IDENTIFIER_FMT)
_HTTP_HEADER_RE = _full(_HTTP_HEADER_FMT)
_PERCENT_RE = _full(_PERCENT_FMT)
_WILDCARD_RE = _full(_WILDCARD_FMT)
_PORT_NAME_CHARSET_RE = re.compile("[-a-z0-9]+")


def _matches(pattern: re.Pattern[str], value: str) -> bool:
    return pattern.fullmatch(value) is not None


# --- message builders (upstream's RegexError, MaxLenError, ...) ---------------------------


def regex_error(message: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}'" for e in examples)
    return f"{message} (e.g. {shown}, regex used for validation is '{fmt}')"


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def inclusive_range_error(low: int, high: int) -> str:
    return f"must be between {low} and {high}, inclusive"


EMPTY_ERROR = "must be non-empty"


# --- string checks ------------------------------------------------------------------------


def is_dns1123_label(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(max_len_error(DNS1123_LABEL_MAX))
    if not _matches(_DNS1123_LABEL_RE, value):
        if _matches(_DNS1123_SUBDOMAIN_RE, value):
            # A valid subdomain that is not a valid label can only differ by its dots.
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _matches(_DNS1123_SUBDOMAIN_RE, value):
        errs.append(regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1035_LABEL_MAX:
        errs.append(max_len_error(DNS1035_LABEL_MAX))
    if not _matches(_DNS1035_LABEL_RE, value):
        errs.append(regex_error(_DNS1035_LABEL_MSG, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_wildcard_dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _matches(_WILDCARD_RE, value):
        errs.append(regex_error(_WILDCARD_MSG, _WILDCARD_FMT, "*.example.com"))
    return errs


def is_qualified_name(value: str) -> list[str]:
    """A label key, annotation key or finalizer: ``[prefix/]name``."""
    errs = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + EMPTY_ERROR)
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a qualified name "
            + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + EMPTY_ERROR)
    elif len(name) > QUALIFIED_NAME_MAX:
        errs.append("name part " + max_len_error(QUALIFIED_NAME_MAX))
    if not _matches(_QNAME_RE, name):
        errs.append(
            "name part " + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_label_value(value: str) -> list[str]:
    errs = []
    if len(value) > LABEL_VALUE_MAX:
        errs.append(max_len_error(LABEL_VALUE_MAX))
    if not _matches(_LABEL_VALUE_RE, value):
        errs.append(regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def _chdir_prefix_errors(value: str) -> list[str]:
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    if value.startswith(".."):
        return ["must not start with '..'"]
    return []


def is_config_map_key(value: str) -> list[str]:
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _matches(_CONFIG_KEY_RE, value):
        errs.append(
            regex_error(_CONFIG_KEY_MSG, _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name")
        )
    errs.extend(_chdir_prefix_errors(value))
    return errs


def is_c_identifier(value: str) -> list[str]:
    if _matches(_C_IDENTIFIER_RE, value):
        return []
    return [regex_error(_C_IDENTIFIER_MSG, _C_IDENTIFIER_FMT, "my_name", "MY_NAME", "MyName")]


def is_env_var_name(value: str) -> list[str]:
    """Environment variable names as 1.33 accepts them (RelaxedEnvironmentVariableValidation
    is on by default): any printable ASCII except '='."""
    errs = []
    if not value:
        errs.append("environment variable name " + EMPTY_ERROR)
    if any(ord(c) > 127 or not c.isprintable() or c == "=" for c in value):
        errs.append(
            "a valid environment variable name must consist only of printable ASCII "
            "characters other than '='"
        )
    return errs


def is_http_header_name(value: str) -> list[str]:
    if _matches(_HTTP_HEADER_RE, value):
        return []
    return [regex_error(_HTTP_HEADER_MSG, _HTTP_HEADER_FMT, "X-Header-Name")]


def is_valid_percent(value: str) -> list[str]:
    if _matches(_PERCENT_RE, value):
        return []
    return [regex_error(_PERCENT_MSG, _PERCENT_FMT, "1%", "93%")]


def is_valid_port_num(port: int) -> list[str]:
    return [] if 1 <= port <= 65535 else [inclusive_range_error(1, 65535)]


def is_in_range(value: int, low: int, high: int) -> list[str]:
    return [] if low <= value <= high else [inclusive_range_error(low, high)]


def is_valid_port_name(port: str) -> list[str]:
    errs = []
    if len(port) > 15:
        errs.append(max_len_error(15))
    if not _matches(_PORT_NAME_CHARSET_RE, port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_valid_user_id(uid: int) -> list[str]:
    return [] if 0 <= uid <= 0xFFFFFFFF else [inclusive_range_error(0, 0xFFFFFFFF)]


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parse an IP as Go's ParseIPSloppy does (IPv4 octets may carry leading zeros)."""
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        pass
    octets = value.split(".")
    if len(octets) == 4 and all(o.isdigit() and o.isascii() for o in octets):
        try:
            return ipaddress.IPv4Address(".".join(str(int(o)) for o in octets))
        except ValueError:
            return None
    return None


def parse_cidr(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """Parse a CIDR as ParseCIDRSloppy does (host bits may be set)."""
    address, sep, bits = value.partition("/")
    ip = parse_ip(address)
    if ip is None or not sep or not bits.isdigit():
        return None
    try:
        return ipaddress.ip_network(f"{ip}/{int(bits)}", strict=False)
    except ValueError:
        return None


# --- name validators ----------------------------------------------------------------------


def _mask_trailing_dash(name: str) -> str:
    # A generateName prefix may end with '-': random characters follow it.
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


def name_is_dns_subdomain(name: str, prefix: bool = False) -> list[str]:
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool = False) -> list[str]:
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool = False) -> list[str]:
    return is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


validate_namespace_name = name_is_dns_label


def is_valid_path_segment_name(name: str, prefix: bool = False) -> list[str]:
    """Any name usable as one URL path segment (RBAC objects accept these)."""
    if not prefix:
        for banned in (".", ".."):
            if name == banned:
                return [f"may not be '{banned}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def name_is_path_segment(name: str, prefix: bool = False) -> list[str]:
    """ValidateRBACName: the prefix flag is ignored upstream, so it is here too."""
    return is_valid_path_segment_name(name)


# --- field-level validators ---------------------------------------------------------------


def too_long(path: str, max_length: int) -> FieldError:
    """``field.TooLong`` with the 1.32+ wording."""
    unit = "byte" if max_length == 1 else "bytes"
    return FieldError("Too long", path, f"may not be more than {max_length} {unit}")


def too_many(path: str, actual: int, max_items: int) -> FieldError:
    unit = "item" if max_items == 1 else "items"
    return FieldError("Too many", path, f"must have at most {max_items} {unit}", actual, True)


def not_found(path: str, value: Any) -> FieldError:
    return FieldError("Not found", path, "", value, True)


def validate_with(check: Callable[[str], list[str]], value: str, path: str) -> list[FieldError]:
    """One ``Invalid value`` error per message a string check returns."""
    return [invalid(path, value, msg) for msg in check(value)]


def validate_dns1123_label(value: str, path: str) -> list[FieldError]:
    return validate_with(is_dns1123_label, value, path)


def validate_dns1123_subdomain(value: str, path: str) -> list[FieldError]:
    return validate_with(is_dns1123_subdomain, value, path)


def validate_qualified_name(value: str, path: str) -> list[FieldError]:
    return validate_with(is_qualified_name, value, path)


def validate_nonnegative(value: int, path: str) -> list[FieldError]:
    return [invalid(path, value, IS_NEGATIVE)] if value < 0 else []


def validate_positive(value: int, path: str) -> list[FieldError]:
    return [invalid(path, value, IS_NOT_POSITIVE)] if value <= 0 else []


def validate_immutable(new: Any, old: Any, path: str) -> list[FieldError]:
    """Upstream compares semantically: an absent field equals its empty value."""
    if _semantic(new) == _semantic(old):
        return []
    return [invalid(path, new, FIELD_IMMUTABLE)]


def _semantic(value: Any) -> Any:
    if value in (None, {}, [], ""):
        return None
    return value


def validate_ip(value: str, path: str) -> list[FieldError]:
    if parse_ip(value) is None:
        return [
            invalid(path, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
        ]
    return []


def validate_cidr(value: str, path: str) -> list[FieldError]:
    if parse_cidr(value) is None:
        return [
            invalid(path, value, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")
        ]
    return []


def validate_labels(labels: Mapping[str, Any] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key, value in (labels or {}).items():
        errs += validate_qualified_name(key, path)
        errs += validate_with(is_label_value, value if isinstance(value, str) else "", path)
    return errs


def validate_annotations(annotations: Mapping[str, Any] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    total = 0
    for key, value in (annotations or {}).items():
        # Annotation keys are qualified names in any case.
        errs += [invalid(path, key, msg) for msg in is_qualified_name(key.lower())]
        total += len(key.encode()) + len(str(value).encode())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


# --- object metadata ----------------------------------------------------------------------


def validate_object_meta(
    meta: Mapping[str, Any] | None,
    *,
    namespaced: bool,
    name_validator: NameValidator,
    path: str = "metadata",
    kube_finalizers: bool = True,
) -> list[FieldError]:
    """ObjectMeta on create (after name generation).

    ``kube_finalizers`` adds the check built-in kinds make (core's ValidateObjectMeta): a
    finalizer without a '/' must be one of the standard names."""
    meta = meta or {}
    errs: list[FieldError] = []
    generate_name = meta.get("generateName") or ""
    name = meta.get("name") or ""
    if generate_name:
        errs += [
            invalid(f"{path}.generateName", generate_name, msg)
            for msg in name_validator(generate_name, True)
        ]
    if not name:
        errs.append(required(f"{path}.name", "name or generateName is required"))
    else:
        errs += [invalid(f"{path}.name", name, msg) for msg in name_validator(name, False)]
    errs += _validate_namespace_scope(meta.get("namespace") or "", namespaced, f"{path}.namespace")
    errs += validate_nonnegative(meta.get("generation") or 0, f"{path}.generation")
    errs += validate_labels(meta.get("labels"), f"{path}.labels")
    errs += validate_annotations(meta.get("annotations"), f"{path}.annotations")
    errs += validate_owner_references(meta.get("ownerReferences"), f"{path}.ownerReferences")
    errs += validate_finalizers(meta.get("finalizers"), f"{path}.finalizers")
    errs += validate_managed_fields(meta.get("managedFields"), f"{path}.managedFields")
    if kube_finalizers:
        errs += _validate_kube_finalizer_names(meta.get("finalizers"), f"{path}.finalizers")
    return errs


def _validate_namespace_scope(namespace: str, namespaced: bool, path: str) -> list[FieldError]:
    if not namespaced:
        return [forbidden(path, "not allowed on this type")] if namespace else []
    if not namespace:
        return [required(path)]
    return [invalid(path, namespace, msg) for msg in validate_namespace_name(namespace, False)]


def validate_object_meta_update(
    new: Mapping[str, Any] | None,
    old: Mapping[str, Any] | None,
    *,
    path: str = "metadata",
    kube_finalizers: bool = True,
) -> list[FieldError]:
    """What an update may not do to ObjectMeta (identity and timestamps are immutable)."""
    new, old = new or {}, old or {}
    errs: list[FieldError] = []
    if old.get("deletionTimestamp"):
        errs += _validate_no_new_finalizers(
            new.get("finalizers") or [], old.get("finalizers") or [], f"{path}.finalizers"
        )
    if not new.get("resourceVersion"):
        errs.append(
            invalid(
                f"{path}.resourceVersion",
                new.get("resourceVersion") or "",
                "must be specified for an update",
            )
        )
    if (new.get("generation") or 0) < (old.get("generation") or 0):
        errs.append(
            invalid(f"{path}.generation", new.get("generation") or 0, "must not be decremented")
        )
    for key in (
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ):
        errs += validate_immutable(new.get(key), old.get(key), f"{path}.{key}")
    errs += validate_labels(new.get("labels"), f"{path}.labels")
    errs += validate_annotations(new.get("annotations"), f"{path}.annotations")
    errs += validate_owner_references(new.get("ownerReferences"), f"{path}.ownerReferences")
    errs += validate_managed_fields(new.get("managedFields"), f"{path}.managedFields")
    if kube_finalizers:
        errs += _validate_kube_finalizer_names(new.get("finalizers"), f"{path}.finalizers")
    return errs


def _validate_no_new_finalizers(new: list[str], old: list[str], path: str) -> list[FieldError]:
    extra = sorted(set(new) - set(old))
    if not extra:
        return []
    shown = "[]string{" + ", ".join(f'"{f}"' for f in extra) + "}"
    return [
        forbidden(
            path,
            "no new finalizers can be added if the object is being deleted, "
            f"found new finalizers {shown}",
        )
    ]


def validate_finalizers(finalizers: Sequence[str] | None, path: str) -> list[FieldError]:
    finalizers = finalizers or []
    errs: list[FieldError] = []
    for finalizer in finalizers:
        errs += validate_qualified_name(finalizer, path)
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errs.append(
            invalid(
                path, list(finalizers), "finalizer orphan and foregroundDeletion cannot be both set"
            )
        )
    return errs


def _validate_kube_finalizer_names(finalizers: Sequence[str] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, finalizer in enumerate(finalizers or []):
        item = f"{path}[{i}]"
        errs += validate_qualified_name(finalizer, item)
        if "/" not in finalizer and finalizer not in STANDARD_FINALIZERS:
            errs.append(
                invalid(
                    item,
                    finalizer,
                    "name is neither a standard finalizer name nor is it fully qualified",
                )
            )
    return errs


def validate_owner_references(
    refs: Sequence[Mapping[str, Any]] | None, path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    first_controller = ""
    for ref in refs or []:
        errs += _validate_owner_reference(ref, path)
        if ref.get("controller") is True:
            current = f"{ref.get('kind', '')}/{ref.get('name', '')}"
            if first_controller:
                errs.append(
                    invalid(
                        path,
                        list(refs or []),
                        'Only one reference can have Controller set to true. Found "true" in '
                        f"references for {first_controller} and {current}",
                    )
                )
            else:
                first_controller = current
    return errs


def _validate_owner_reference(ref: Mapping[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    api_version = ref.get("apiVersion") or ""
    group, version = split_api_version(api_version)
    kind = ref.get("kind") or ""
    if not version:
        errs.append(invalid(f"{path}.apiVersion", api_version, "version must not be empty"))
    if not kind:
        errs.append(invalid(f"{path}.kind", kind, "must not be empty"))
    for key in ("name", "uid"):
        if not ref.get(key):
            errs.append(invalid(f"{path}.{key}", ref.get(key) or "", "must not be empty"))
    if (group, version, kind) == ("", "v1", "Event"):
        errs.append(invalid(path, dict(ref), "/v1, Kind=Event is disallowed from being an owner"))
    return errs


def split_api_version(api_version: str) -> tuple[str, str]:
    """(group, version) as schema.ParseGroupVersion splits it; ("", "") when malformed."""
    if not api_version:
        return "", ""
    parts = api_version.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    return "", ""


def validate_managed_fields(
    entries: Sequence[Mapping[str, Any]] | None, path: str
) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, entry in enumerate(entries or []):
        item = f"{path}[{i}]"
        operation = entry.get("operation") or ""
        if operation not in ("Apply", "Update"):
            errs.append(invalid(f"{item}.operation", operation, "must be `Apply` or `Update`"))
        fields_type = entry.get("fieldsType") or ""
        if fields_type and fields_type != "FieldsV1":
            errs.append(invalid(f"{item}.fieldsType", fields_type, "must be `FieldsV1`"))
        if len(entry.get("manager") or "") > 128:
            errs.append(too_long(f"{item}.manager", 128))
    return errs
