"""Label and field selectors against the cases of apimachinery's labels/selector_test.go and
fields/selector_test.go, plus the exact messages kube-apiserver answers bad selectors with."""

from __future__ import annotations

import pytest

from pilothouse.api import errors
from pilothouse.api.selectors import (
    FieldSelector,
    LabelSelector,
    LabelSelectorError,
    format_label_selector,
    format_labels,
    label_value_errors,
    qualified_name_errors,
)

NAME_RULE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
OPERATORS = "in, notin, =, ==, !=, gt, lt"


# --- labels.Parse: accepted input and its canonical string ----------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        pytest.param("x=a,y=b,z=c", "x=a,y=b,z=c", id="equalities"),
        pytest.param("", "", id="empty"),
        pytest.param("x!=a,y=b", "x!=a,y=b", id="not-equals"),
        pytest.param("x=", "x=", id="empty-value"),
        pytest.param("x= ", "x=", id="empty-value-space"),
        pytest.param("x=,z= ", "x=,z=", id="two-empty-values"),
        pytest.param("x= ,z= ", "x=,z=", id="empty-values-spaces"),
        pytest.param("!x", "!x", id="does-not-exist"),
        pytest.param("x>1", "x>1", id="greater-than"),
        pytest.param("x>1,z<5", "x>1,z<5", id="greater-and-less"),
        pytest.param("x==a", "x==a", id="double-equals-kept"),
        pytest.param("x=a,a=x", "a=x,x=a", id="sorted-by-key"),
        pytest.param("\rx", "x", id="leading-carriage-return"),
        pytest.param(
            "this-is-a-dns.domain.com/key-with-dash",
            "this-is-a-dns.domain.com/key-with-dash",
            id="prefixed-key-exists",
        ),
        pytest.param(
            "this-is-another-dns.domain.com/key-with-dash in (so,what)",
            "this-is-another-dns.domain.com/key-with-dash in (so,what)",
            id="prefixed-key-in",
        ),
        pytest.param(
            "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
            "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)",
            id="notin-spaces-in-list",
        ),
        pytest.param("foo  in\t (abc)", "foo in (abc)", id="tabs"),
        pytest.param("x notin\n (abc)", "x notin (abc)", id="newline"),
        pytest.param("x  notin\t\t\t(abc,def)", "x notin (abc,def)", id="notin-tabs"),
        pytest.param("x in (def,abc)", "x in (abc,def)", id="values-sorted"),
        pytest.param("x in (abc,abc)", "x in (abc)", id="values-deduplicated"),
        pytest.param("x in (abc,)", "x in (,abc)", id="trailing-comma-is-empty-value"),
        pytest.param("x in ()", "x in ()", id="empty-set-is-empty-value"),
        pytest.param("x notin ( )", "x notin ()", id="empty-set-with-space"),
        pytest.param("x notin (, a)", "x notin (,a)", id="leading-comma"),
        pytest.param(
            "x notin (abc,,def),bar,z in (),w",
            "bar,w,x notin (,abc,def),z in ()",
            id="mixed",
        ),
        pytest.param("x,y in (a)", "x,y in (a)", id="exists-then-in"),
        pytest.param("a ", "a", id="trailing-space"),
        pytest.param("a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)", id="keywords-as-values"),
        pytest.param("notin=in", "notin=in", id="keywords-as-key-and-value"),
        pytest.param("in", "in", id="keyword-as-key"),
        pytest.param("x=a,x!=b", "x=a,x!=b", id="same-key-twice-keeps-order"),
    ],
)
def test_parse_accepts_and_prints_canonical_form(text: str, canonical: str) -> None:
    assert str(LabelSelector.parse(text)) == canonical


def test_parse_is_deterministic() -> None:
    assert LabelSelector.parse("x=a,a=x") == LabelSelector.parse("a=x,x=a")


# --- labels.Parse: rejected input with kube-apiserver's messages ----------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "x=a||y=b",
            'unable to parse requirement: values[0][x]: Invalid value: "a||y": ' + VALUE_RULE,
            id="or-is-not-an-operator",
        ),
        pytest.param("x==a==b", "found '==', expected: ',' or 'end of string'", id="two-operators"),
        pytest.param("!x=a", "found '=', expected: ',' or 'end of string'", id="not-with-value"),
        pytest.param(
            "x<a",
            'unable to parse requirement: values[0]: Invalid value: "a": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
            id="less-than-non-integer",
        ),
        pytest.param(
            "x>",
            'unable to parse requirement: values[0]: Invalid value: "": '
            "for 'Gt', 'Lt' operators, the value must be an integer",
            id="greater-than-nothing",
        ),
        pytest.param("x,,y", "found ',', expected: identifier after ','", id="double-comma"),
        pytest.param(
            ",x,y", "found ',', expected: !, identifier, or 'end of string'", id="leading-comma"
        ),
        pytest.param(
            "x nott in (y)",
            f"unable to parse requirement: found 'nott', expected: {OPERATORS}",
            id="misspelled-operator",
        ),
        pytest.param(
            "a in (xyz),", "found '', expected: identifier after ','", id="trailing-comma"
        ),
        pytest.param(
            "a in (xyz)b notin ()",
            "found 'b', expected: ',' or 'end of string'",
            id="missing-comma-between-requirements",
        ),
        pytest.param(
            "a in (xyz abc)",
            "unable to parse requirement: found 'abc', expected: ',' or ')'",
            id="missing-comma-in-set",
        ),
        pytest.param(
            "a notin(",
            "unable to parse requirement: found '', expected: ',', ')' or identifier",
            id="unterminated-set",
        ),
        pytest.param(
            "a (",
            f"unable to parse requirement: found '(', expected: {OPERATORS}",
            id="parenthesis-without-operator",
        ),
        pytest.param(
            "(", "found '(', expected: !, identifier, or 'end of string'", id="lone-parenthesis"
        ),
        pytest.param(
            "a in x", "unable to parse requirement: found 'x' expected: '('", id="in-without-set"
        ),
        pytest.param(
            "a in (x(",
            "unable to parse requirement: found '(', expected: ',' or ')'",
            id="parenthesis-in-set",
        ),
        pytest.param(
            "a in (,(",
            "unable to parse requirement: found '(', expected: ',', or identifier",
            id="parenthesis-after-comma",
        ),
        pytest.param(
            "a=(", "unable to parse requirement: found '(', expected: identifier", id="bad-value"
        ),
        pytest.param("!=a", "found '!=', expected: !, identifier, or 'end of string'", id="no-key"),
        pytest.param(
            "!!a", "unable to parse requirement: found '!', expected: identifier", id="double-not"
        ),
        pytest.param(
            "a/b/c",
            'unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name '
            + NAME_RULE
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
            id="key-with-two-slashes",
        ),
        pytest.param(
            "-x",
            'unable to parse requirement: <nil>: Invalid value: "-x": name part ' + NAME_RULE,
            id="key-starts-with-dash",
        ),
        pytest.param(
            "/x",
            'unable to parse requirement: <nil>: Invalid value: "/x": prefix part must be '
            "non-empty",
            id="empty-prefix",
        ),
        pytest.param(
            "Example.com/x",
            'unable to parse requirement: <nil>: Invalid value: "Example.com/x": prefix part '
            + SUBDOMAIN_RULE,
            id="uppercase-prefix",
        ),
        pytest.param(
            "a/",
            'unable to parse requirement: <nil>: Invalid value: "a/": name part must be '
            "non-empty; name part " + NAME_RULE,
            id="empty-name-part",
        ),
        pytest.param(
            "k" * 64,
            f'unable to parse requirement: <nil>: Invalid value: "{"k" * 64}": name part must '
            "be no more than 63 characters",
            id="key-too-long",
        ),
        pytest.param(
            "k=" + "v" * 64,
            f'unable to parse requirement: values[0][k]: Invalid value: "{"v" * 64}": must be '
            "no more than 63 characters",
            id="value-too-long",
        ),
        pytest.param(
            "k=a@b",
            'unable to parse requirement: values[0][k]: Invalid value: "a@b": ' + VALUE_RULE,
            id="value-with-at-sign",
        ),
        pytest.param(
            "k in (b@,a@)",
            "unable to parse requirement: ["
            f'values[0][k]: Invalid value: "a@": {VALUE_RULE}, '
            f'values[1][k]: Invalid value: "b@": {VALUE_RULE}]',
            id="two-bad-values-aggregated-in-sorted-order",
        ),
        pytest.param(
            "k>-",
            "unable to parse requirement: ["
            "values[0]: Invalid value: \"-\": for 'Gt', 'Lt' operators, the value must be an "
            f'integer, values[0][k]: Invalid value: "-": {VALUE_RULE}]',
            id="greater-than-bad-integer-and-bad-value",
        ),
    ],
)
def test_parse_rejects_with_upstream_message(text: str, message: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        LabelSelector.parse(text)
    assert caught.value.message == message
    assert caught.value.status()["code"] == 400


# --- matching -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        pytest.param("", {"x": "y"}, True, id="empty-matches-all"),
        pytest.param("x=y", {"x": "y"}, True, id="equal"),
        pytest.param("x=y,z=w", {"x": "y", "z": "w"}, True, id="both-equal"),
        pytest.param("x!=y,z!=w", {"x": "z", "z": "a"}, True, id="both-differ"),
        pytest.param("notin=in", {"notin": "in"}, True, id="keywords"),
        pytest.param("x", {"x": "z"}, True, id="exists"),
        pytest.param("!x", {"y": "z"}, True, id="does-not-exist"),
        pytest.param("x>1", {"x": "2"}, True, id="greater"),
        pytest.param("x<1", {"x": "0"}, True, id="less"),
        pytest.param("x<1", {"x": "-5"}, True, id="less-negative"),
        pytest.param("x=z", {}, False, id="equal-missing"),
        pytest.param("x=y", {"x": "z"}, False, id="equal-differs"),
        pytest.param("x=y,z=w", {"x": "w", "z": "w"}, False, id="one-differs"),
        pytest.param("x!=y,z!=w", {"x": "z", "z": "w"}, False, id="one-equal"),
        pytest.param("x", {"y": "z"}, False, id="exists-missing"),
        pytest.param("!x", {"x": "z"}, False, id="does-not-exist-present"),
        pytest.param("x>1", {"x": "0"}, False, id="not-greater"),
        pytest.param("x<1", {"x": "2"}, False, id="not-less"),
        pytest.param("x>1", {"x": "v2"}, False, id="greater-non-integer-label"),
        pytest.param("x>1", {"x": "1_0"}, False, id="greater-underscore-is-not-integer"),
        pytest.param("x>1", {"x": "99999999999999999999"}, False, id="greater-overflow"),
        pytest.param("x>1", {}, False, id="greater-missing"),
        pytest.param("x!=y", {}, True, id="not-equal-missing"),
        pytest.param("x notin (a,b)", {}, True, id="notin-missing"),
        pytest.param("x notin (a,b)", {"x": "b"}, False, id="notin-present"),
        pytest.param("x in (a,b)", {"x": "b"}, True, id="in-present"),
        pytest.param("x in (a,b)", {"x": "c"}, False, id="in-other"),
        pytest.param("x in ()", {"x": ""}, True, id="in-empty-value"),
        pytest.param("x in ()", {"y": "baz"}, False, id="in-empty-value-missing"),
        pytest.param("x notin (),y", {"y": ""}, True, id="notin-empty-and-exists"),
        pytest.param("!x,y", {"y": ""}, True, id="not-exists-and-exists"),
        pytest.param("x notin (),!y", {"y": ""}, False, id="notin-empty-and-not-exists"),
        pytest.param("foo=bar,baz=blah", {"foo": "bar", "baz": "blah"}, True, id="labelset"),
        pytest.param(
            "foo=bar,foobar=bar,baz=blah", {"foo": "bar", "baz": "blah"}, False, id="extra-term"
        ),
    ],
)
def test_matches(text: str, labels: dict[str, str], matches: bool) -> None:
    assert LabelSelector.parse(text).matches(labels) is matches


def test_matches_object_without_labels() -> None:
    assert LabelSelector.parse("!x").matches(None)
    assert not LabelSelector.parse("x").matches(None)


def test_empty_and_nothing() -> None:
    everything = LabelSelector.parse("")
    assert everything == LabelSelector.everything()
    assert everything.empty and everything.matches({"a": "b"})
    nothing = LabelSelector.nothing()
    assert not nothing.empty and nothing.selects_nothing
    assert not nothing.matches({}) and str(nothing) == ""
    assert not LabelSelector.parse("a").empty


# --- metav1.LabelSelector -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "canonical", "labels", "matches"),
    [
        pytest.param({}, "", {"a": "b"}, True, id="empty-selects-everything"),
        pytest.param(None, "", {"a": "b"}, False, id="none-selects-nothing"),
        pytest.param({"matchLabels": {"app": "web"}}, "app=web", {"app": "web"}, True, id="labels"),
        pytest.param(
            {"matchLabels": {"tier": "db", "app": "web"}},
            "app=web,tier=db",
            {"app": "web"},
            False,
            id="labels-sorted",
        ),
        pytest.param(
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                    {"key": "zone", "operator": "NotIn", "values": ["b"]},
                    {"key": "owner", "operator": "Exists"},
                ],
            },
            "app=web,!canary,env in (dev,prod),owner,zone notin (b)",
            {"app": "web", "env": "dev", "owner": "me"},
            True,
            id="expressions",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]},
            "env in (prod)",
            {"env": "dev"},
            False,
            id="in-single-value",
        ),
    ],
)
def test_from_object(
    selector: dict | None, canonical: str, labels: dict[str, str], matches: bool
) -> None:
    parsed = LabelSelector.from_object(selector)
    assert str(parsed) == canonical
    assert parsed.matches(labels) is matches


@pytest.mark.parametrize(
    ("selector", "messages"),
    [
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
            [
                "spec.selector.matchExpressions[0].values: Required value: must be specified "
                "when `operator` is 'In' or 'NotIn'"
            ],
            id="in-without-values",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
            [
                "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when "
                "`operator` is 'Exists' or 'DoesNotExist'"
            ],
            id="exists-with-values",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]},
            [
                'spec.selector.matchExpressions[0].operator: Invalid value: "Equals": not a '
                "valid selector operator"
            ],
            id="unknown-operator",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a b", "operator": "Exists"}]},
            ['spec.selector.matchExpressions[0].key: Invalid value: "a b": name part ' + NAME_RULE],
            id="bad-expression-key",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "In", "values": ["ok", "b@d"]}]},
            ['spec.selector.matchExpressions[0].values[1]: Invalid value: "b@d": ' + VALUE_RULE],
            id="bad-expression-value",
        ),
        pytest.param(
            {"matchLabels": {"-a": "b@"}},
            [
                'spec.selector.matchLabels: Invalid value: "-a": name part ' + NAME_RULE,
                'spec.selector.matchLabels: Invalid value: "b@": ' + VALUE_RULE,
            ],
            id="bad-match-label",
        ),
    ],
)
def test_from_object_reports_field_errors(selector: dict, messages: list[str]) -> None:
    with pytest.raises(LabelSelectorError) as caught:
        LabelSelector.from_object(selector, path="spec.selector")
    assert [e.message() for e in caught.value.errors] == messages


@pytest.mark.parametrize(
    ("selector", "text"),
    [
        pytest.param(None, "<none>", id="nil"),
        pytest.param({}, "<none>", id="empty"),
        pytest.param({"matchLabels": {"b": "2", "a": "1"}}, "a=1,b=2", id="labels"),
        pytest.param({"matchExpressions": [{"key": "a", "operator": "In"}]}, "<error>", id="bad"),
    ],
)
def test_format_label_selector(selector: dict | None, text: str) -> None:
    assert format_label_selector(selector) == text


def test_format_labels() -> None:
    assert format_labels({"b": "2", "a": "1"}) == "a=1,b=2"
    assert format_labels({}) == "<none>"
    assert format_labels(None) == "<none>"


@pytest.mark.parametrize(
    ("key", "problems"),
    [
        pytest.param("app", [], id="plain"),
        pytest.param("example.com/app", [], id="prefixed"),
        pytest.param("a" * 63, [], id="longest-name"),
        pytest.param("", ["name part must be non-empty", "name part " + NAME_RULE], id="empty"),
        pytest.param("a_", ["name part " + NAME_RULE], id="ends-with-underscore"),
        pytest.param(
            "x" * 254 + "/a",
            ["prefix part must be no more than 253 characters"],
            id="prefix-too-long",
        ),
    ],
)
def test_qualified_name_errors(key: str, problems: list[str]) -> None:
    assert qualified_name_errors(key) == problems


def test_label_value_errors() -> None:
    assert label_value_errors("") == []
    assert label_value_errors("a-b_c.d") == []
    assert label_value_errors("-a") == [VALUE_RULE]
    assert label_value_errors("a" * 64) == ["must be no more than 63 characters"]


# --- fields.ParseSelector -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("x=a,y=b,z=c", id="equalities"),
        pytest.param("", id="empty"),
        pytest.param("x!=a,y=b", id="not-equals"),
        pytest.param(r"x=a||y\=b", id="escaped-equals"),
        pytest.param(r"x=a\=\=b", id="two-escaped-equals"),
    ],
)
def test_field_selector_round_trips(text: str) -> None:
    assert str(FieldSelector.parse(text)) == text


@pytest.mark.parametrize(
    ("text", "requirements"),
    [
        pytest.param("a=avalue", [("a", "=", "avalue")], id="equals"),
        pytest.param("b==bvalue", [("b", "=", "bvalue")], id="double-equals-is-equals"),
        pytest.param("c!=cvalue", [("c", "!=", "cvalue")], id="not-equals"),
        pytest.param("a=a,", [("a", "=", "a")], id="trailing-comma"),
        pytest.param(",a=a", [("a", "=", "a")], id="leading-comma"),
        # Terms are sorted as raw strings: "k2=..." sorts before "k=...".
        pytest.param(r"k=\,,k2=v2", [("k2", "=", "v2"), ("k", "=", ",")], id="escaped-comma"),
        pytest.param(r"k=\\,k2=v2", [("k2", "=", "v2"), ("k", "=", "\\")], id="escaped-backslash"),
        pytest.param(
            r"k=\\\,,k2=v2", [("k2", "=", "v2"), ("k", "=", "\\,")], id="backslash-and-comma"
        ),
        pytest.param("함=수,목=록", [("목", "=", "록"), ("함", "=", "수")], id="multi-byte-sorted"),
        pytest.param(
            "spec.nodeName=,metadata.name=a",
            [("metadata.name", "=", "a"), ("spec.nodeName", "=", "")],
            id="sorted-empty-value",
        ),
        pytest.param("a!=!b", [("a", "!=", "!b")], id="first-operator-wins"),
    ],
)
def test_field_selector_requirements(text: str, requirements: list[tuple[str, str, str]]) -> None:
    assert [tuple(r) for r in FieldSelector.parse(text).requirements] == requirements


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "x=a||y=b", "invalid field selector: unescaped character in value: 61", id="bare-equals"
        ),
        pytest.param(
            "x==a==b", "invalid field selector: unescaped character in value: 61", id="two-ops"
        ),
        pytest.param("x=a,b", "invalid selector: 'x=a,b'; can't understand 'b'", id="no-operator"),
        pytest.param(
            "x in (a)", "invalid selector: 'x in (a)'; can't understand 'x in (a)'", id="set-based"
        ),
        pytest.param(
            "x in (a,b,c)",
            "invalid selector: 'x in (a,b,c)'; can't understand 'b'",
            id="set-based-split-and-sorted",
        ),
        pytest.param("x", "invalid selector: 'x'; can't understand 'x'", id="exists"),
        pytest.param("k=\\", "invalid field selector: invalid escape sequence: \\", id="orphan"),
        pytest.param(
            "k=\\\\\\", "invalid field selector: invalid escape sequence: \\", id="orphan-after"
        ),
        pytest.param("k=\\a", "invalid field selector: invalid escape sequence: \\a", id="bad-esc"),
    ],
)
def test_field_selector_rejects(text: str, message: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        FieldSelector.parse(text)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("text", "fields", "matches"),
    [
        pytest.param("", {"x": "y"}, True, id="empty"),
        pytest.param("x=y", {"x": "y"}, True, id="equal"),
        pytest.param("x=y,z=w", {"x": "y", "z": "w"}, True, id="both"),
        pytest.param("x!=y,z!=w", {"x": "z", "z": "a"}, True, id="both-differ"),
        pytest.param("notin=in", {"notin": "in"}, True, id="keywords"),
        pytest.param("x=y", {"x": "z"}, False, id="differs"),
        pytest.param("x=y,z=w", {"x": "w", "z": "w"}, False, id="one-differs"),
        pytest.param("x!=y,z!=w", {"x": "z", "z": "w"}, False, id="one-equal"),
        pytest.param("spec.nodeName=", {}, True, id="missing-reads-as-empty"),
        pytest.param("spec.nodeName!=", {}, False, id="missing-is-not-unequal-to-empty"),
        pytest.param(
            r"foo=bar,baz=blah,complex=\=value\\\,\\",
            {"foo": "bar", "baz": "blah", "complex": "=value\\,\\"},
            True,
            id="complex-escapes",
        ),
        pytest.param(
            "foo=bar,foobar=bar,baz=blah", {"foo": "bar", "baz": "blah"}, False, id="extra-term"
        ),
    ],
)
def test_field_selector_matches(text: str, fields: dict[str, str], matches: bool) -> None:
    assert FieldSelector.parse(text).matches(fields) is matches


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        pytest.param("", "test", None, id="empty"),
        pytest.param("a=b", "test", None, id="other-field"),
        pytest.param("test=b", "test", "b", id="equal"),
        pytest.param("test==", "test", "", id="equal-empty"),
        pytest.param("test!=b", "test", None, id="not-equal"),
        pytest.param("a=c,test=b", "test", "b", id="among-others"),
        pytest.param("test!=c,test=b", "test", "b", id="after-inequality"),
        pytest.param("metadata.name=web,spec.nodeName=n1", "spec.nodeName", "n1", id="node"),
    ],
)
def test_field_selector_exact(text: str, field: str, value: str | None) -> None:
    assert FieldSelector.parse(text).exact(field) == value


def test_field_selector_empty() -> None:
    assert FieldSelector.parse("").empty
    assert FieldSelector.parse(",").empty
    assert not FieldSelector.parse("a=b").empty
