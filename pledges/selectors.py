"""Reads that several entry points share (HackSoft's selectors): request parameters in, a
report or a queryset out, so that the API and the commands handle them in one place."""

from collections.abc import Mapping

from django.http import QueryDict

from . import reports, timeline
from .choices import PledgeStatus
from .filters import ReportPledgeFilter
from .models import Pledge


class ParameterError(Exception):
    """Bad parameters: ``errors`` holds the messages by parameter name."""

    def __init__(self, errors: Mapping[str, list[str]]):
        super().__init__(errors)
        self.errors = dict(errors)


def _filtered(params: QueryDict, request) -> tuple[ReportPledgeFilter, dict[str, list[str]]]:
    filterset = ReportPledgeFilter(params, queryset=Pledge.objects.all(), request=request)
    errors = {} if filterset.is_valid() else {k: list(v) for k, v in filterset.errors.items()}
    return filterset, errors


def _asks_for_cancelled(filterset: ReportPledgeFilter) -> bool:
    return PledgeStatus.CANCELLED in (filterset.form.cleaned_data.get("status") or [])


def pledge_report(
    params: QueryDict, *, formats: tuple[str, ...] = reports.FORMATS, request=None
) -> tuple[reports.Report, reports.ReportOptions]:
    """The report that ``params`` ask for: the filters of ``ReportPledgeFilter`` and the
    options ``group_by``, ``currency``, ``allocation`` and ``format`` (one of ``formats``).

    Every bad parameter is named at once in a ``ParameterError``. Cancelled pledges count
    only when the ``status`` filter asks for them.
    """
    filterset, errors = _filtered(params, request)
    try:
        options = reports.parse_options(
            group_by=params.getlist("group_by"),
            currency=params.get("currency"),
            allocation=params.get("allocation"),
            format=params.get("format"),
            formats=formats,
        )
    except reports.ReportError as error:
        errors.update({name: [message] for name, message in error.errors.items()})
    if errors:
        raise ParameterError(errors)
    report = reports.totals(filterset.qs, options, include_cancelled=_asks_for_cancelled(filterset))
    return report, options


def pledge_timeline(
    params: QueryDict, *, formats: tuple[str, ...] = reports.FORMATS, request=None
) -> tuple[timeline.Timeline, timeline.TimelineOptions]:
    """The timeline that ``params`` ask for: the filters of ``ReportPledgeFilter`` and the
    options ``interval``, ``group_by`` (one key), ``currency`` and ``format``; as
    ``pledge_report``."""
    filterset, errors = _filtered(params, request)
    try:
        options = timeline.parse_options(
            interval=params.get("interval"),
            group_by=params.getlist("group_by"),
            currency=params.get("currency"),
            format=params.get("format"),
            formats=formats,
        )
    except reports.ReportError as error:
        errors.update({name: [message] for name, message in error.errors.items()})
    if errors:
        raise ParameterError(errors)
    result = timeline.timeline(
        filterset.qs, options, include_cancelled=_asks_for_cancelled(filterset)
    )
    return result, options
