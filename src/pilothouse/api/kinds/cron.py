"""Cron schedules as CronJobs use them: robfig/cron v3's standard parser.

``parse_schedule`` accepts five fields (minute hour day-of-month month day-of-week, with
names, ranges, steps and ``*``/``?``), the descriptors (@yearly, @monthly, @weekly, @daily,
@midnight, @hourly, @every <duration>) and a leading ``TZ=``/``CRON_TZ=`` zone, and fails with
robfig's messages, which kube-apiserver reports as ``spec.schedule`` errors. The result says
which minutes, hours, days, months and weekdays match, for the CronJob controller.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_DURATION_RE = re.compile(r"^([0-9]*(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$")


class CronError(ValueError):
    """An unparseable schedule; ``str(err)`` is robfig/cron's message."""


@dataclass(frozen=True)
class Bounds:
    low: int
    high: int
    names: dict[str, int] | None = None


MINUTES, HOURS = Bounds(0, 59), Bounds(0, 23)
DAYS_OF_MONTH, MONTHS, DAYS_OF_WEEK = Bounds(1, 31), Bounds(1, 12, _MONTHS), Bounds(0, 6, _DAYS)


@dataclass(frozen=True)
class CronSchedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    # robfig: when either day field is "*", both must match; otherwise either may.
    day_of_month_star: bool
    day_of_week_star: bool
    timezone: str = ""
    every_seconds: float | None = None

    def matches(self, moment: datetime) -> bool:
        """Whether a minute-precision time is a scheduled time (not for @every schedules)."""
        if (
            moment.minute not in self.minutes
            or moment.hour not in self.hours
            or moment.month not in self.months
        ):
            return False
        dom = moment.day in self.days_of_month
        dow = (moment.isoweekday() % 7) in self.days_of_week
        if self.day_of_month_star or self.day_of_week_star:
            return dom and dow
        return dom or dow


def parse_schedule(spec: str) -> CronSchedule:
    if not spec:
        raise CronError("empty spec string")
    timezone = ""
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        timezone = spec[spec.index("=") + 1 : space if space >= 0 else len(spec)]
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
            raise CronError(
                f"provided bad location {timezone}: unknown time zone {timezone}"
            ) from err
        spec = spec[space:].strip() if space >= 0 else ""
    if spec.startswith("@"):
        return _parse_descriptor(spec, timezone)
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    minutes, _ = parse_field(fields[0], MINUTES)
    hours, _ = parse_field(fields[1], HOURS)
    dom, dom_star = parse_field(fields[2], DAYS_OF_MONTH)
    months, _ = parse_field(fields[3], MONTHS)
    dow, dow_star = parse_field(fields[4], DAYS_OF_WEEK)
    return CronSchedule(minutes, hours, dom, months, dow, dom_star, dow_star, timezone)


def _parse_descriptor(spec: str, timezone: str) -> CronSchedule:
    if spec in _DESCRIPTORS:
        parsed = parse_schedule(_DESCRIPTORS[spec])
        return CronSchedule(
            parsed.minutes,
            parsed.hours,
            parsed.days_of_month,
            parsed.months,
            parsed.days_of_week,
            parsed.day_of_month_star,
            parsed.day_of_week_star,
            timezone,
        )
    if spec.startswith("@every "):
        duration = spec[len("@every ") :]
        if not _DURATION_RE.match(duration):
            raise CronError(f'failed to parse duration {spec}: time: invalid duration "{duration}"')
        everything: frozenset[int] = frozenset()
        return CronSchedule(
            everything,
            everything,
            everything,
            everything,
            everything,
            True,
            True,
            timezone,
            _duration_seconds(duration),
        )
    raise CronError(f"unrecognized descriptor: {spec}")


def _duration_seconds(text: str) -> float:
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    return sum(
        float(number or 0) * units[unit]
        for number, _, unit in re.findall(r"([0-9]*(\.[0-9]*)?)(ns|us|µs|ms|s|m|h)", text)
    )


def parse_field(field: str, bounds: Bounds) -> tuple[frozenset[int], bool]:
    """The values a comma-separated field selects, and whether it was a bare star."""
    values: set[int] = set()
    star = False
    for expr in field.split(","):
        selected, is_star = _parse_range(expr, bounds)
        values |= selected
        star = star or is_star
    return frozenset(values), star


def _parse_range(expr: str, bounds: Bounds) -> tuple[set[int], bool]:
    range_and_step = expr.split("/")
    low_high = range_and_step[0].split("-")
    star = False
    if low_high[0] in ("*", "?"):
        start, end, star = bounds.low, bounds.high, True
    else:
        start = _int_or_name(low_high[0], bounds)
        if len(low_high) == 1:
            end = start
        elif len(low_high) == 2:
            end = _int_or_name(low_high[1], bounds)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _must_parse_int(range_and_step[1])
        if len(low_high) == 1:
            end = bounds.high
        if step > 1:
            star = False
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < bounds.low:
        raise CronError(f"beginning of range ({start}) below minimum ({bounds.low}): {expr}")
    if end > bounds.high:
        raise CronError(f"end of range ({end}) above maximum ({bounds.high}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    return set(range(start, end + 1, step)), star


def _int_or_name(expr: str, bounds: Bounds) -> int:
    if bounds.names and expr.lower() in bounds.names:
        return bounds.names[expr.lower()]
    return _must_parse_int(expr)


def _must_parse_int(expr: str) -> int:
    text = expr[1:] if expr[:1] in "+-" else expr
    if not text or not text.isascii() or not text.isdigit():
        raise CronError(
            f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": invalid syntax'
        )
    number = int(expr)
    if number < 0:
        raise CronError(f"negative number ({number}) not allowed: {expr}")
    return number
