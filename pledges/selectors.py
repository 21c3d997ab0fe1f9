"""Reads that several entry points share (HackSoft's selectors): request parameters in, a
report or a queryset out, so that the API and the commands handle them in one place."""

from collections.abc import Mapping

from django.http import QueryDict

from . import reports
from .choices import PledgeStatus
from .filters import ReportPledgeFilter
from .models import Pledge


class ParameterError(Exception):
    """Bad parameters: ``errors`` holds the messages by parameter name."""

    def __init__(self, errors: Mapping[str, list[str]]):
        super().__init__(errors)
        self.errors = dict(errors)


def pledge_report(
    params: QueryDict, *, formats: tuple[str, ...] = reports.FORMATS, request=None
) -> tuple[reports.Report, reports.ReportOptions]:
    """The report that ``params`` ask for: the filters of ``ReportPledgeFilter`` and the
    options ``group_by``, ``currency``, ``allocation`` and ``format`` (one of ``formats``).

    Every bad parameter is named at once in a ``ParameterError``. Cancelled pledges count
    only when the ``status`` filter asks for them.
    """
    filterset = ReportPledgeFilter(params, queryset=Pledge.objects.all(), request=request)
    errors = {} if filterset.is_valid() else {k: list(v) for k, v in filterset.errors.items()}
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
    statuses = filterset.form.cleaned_data.get("status") or []
    report = reports.totals(
        filterset.qs, options, include_cancelled=PledgeStatus.CANCELLED in statuses
    )
    return report, options
