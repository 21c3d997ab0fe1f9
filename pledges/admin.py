from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponse
from django.utils.html import format_html
from django.utils.text import Truncator
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX
from simple_history.admin import SimpleHistoryAdmin

from .choices import AmountBasis
from .codes import country_choices
from .forms import PledgeImportForm
from .models import (
    BOOKKEEPING_FIELDS,
    SOURCE_FIELDS,
    Category,
    Donor,
    Event,
    ExchangeRate,
    Pledge,
    PledgeItem,
    Source,
    validate_sources,
)
from .package_rules import PackageLookups, check_package_rules
from .permissions import may_edit, may_import
from .resources import PledgeResource
from .services import delete_pledge, rates_changed, store_pledge
from .value_notes import value_eur_note

# Form fields beside the file in an import request (the CSRF token, the format).
IMPORT_FORM_ALLOWANCE = 64 * 1024


@admin.register(Donor)
class DonorAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "iso2"]
    list_filter = ["kind"]
    search_fields = ["name", "iso2"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "date", "location"]
    list_filter = ["kind"]
    search_fields = ["name", "location"]
    date_hierarchy = "date"


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["currency", "date", "rate"]
    list_filter = ["currency"]
    search_fields = ["currency"]
    date_hierarchy = "date"
    show_full_result_count = False

    # The pledges a rate converts follow it (their values are kept in the database).
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        rates_changed(obj.currency, [obj.date])
        if change and {"currency", "date"} & set(form.changed_data):
            rates_changed(form.initial["currency"], [form.initial["date"]])

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        rates_changed(obj.currency, [obj.date])

    def delete_queryset(self, request, queryset):
        deleted = list(queryset.values_list("currency", "date"))
        super().delete_queryset(request, queryset)
        for currency, date in deleted:
            rates_changed(currency, [date])


class AtLeastOneSourceFormSet(BaseInlineFormSet):
    """Every pledge is traceable: at least one source must remain after the edit, an official
    one if the pledge is confirmed (``self.instance`` holds the pledge form's values)."""

    def clean(self):
        super().clean()
        kept = [
            form
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE", False)
        ]
        try:
            validate_sources(
                self.instance.confidence, [form.cleaned_data.get("kind") for form in kept]
            )
        except ValidationError as error:
            raise ValidationError(error.messages) from error


def grouped(value) -> str:
    """1234567.5 -> "1,234,567.50"."""
    return f"{value:,.2f}"


def amount_text(pledge: Pledge):
    if pledge.amount is None:
        return "not stated"
    text = f"{grouped(pledge.amount)} {pledge.currency}"
    if pledge.amount_basis == AmountBasis.PER_YEAR:
        return format_html(
            "{}<br>a year, {} to {}", text, pledge.period_start_year, pledge.period_end_year
        )
    return text


def value_text(pledge: Pledge) -> str:
    if pledge.value_eur is not None:
        return grouped(pledge.value_eur)
    return "" if pledge.amount is None else "no rate"


class PledgeItemInline(admin.TabularInline):
    model = PledgeItem
    extra = 0
    fields = ["name", "quantity"]


class SourceInline(admin.TabularInline):
    model = Source
    formset = AtLeastOneSourceFormSet
    extra = 0
    min_num = 1
    fields = SOURCE_FIELDS


class ComponentInline(admin.TabularInline):
    model = Pledge
    fk_name = "parent"
    verbose_name = "component"
    verbose_name_plural = "components (pledges inside this package)"
    extra = 0
    show_change_link = True
    fields = ["title", "category", "amount_shown", "status", "value_shown"]
    readonly_fields = fields
    can_delete = False

    @admin.display(description="amount")
    def amount_shown(self, pledge):
        return amount_text(pledge)

    @admin.display(description="value (EUR)")
    def value_shown(self, pledge):
        return value_text(pledge)

    def has_add_permission(self, request, obj=None):
        # A component needs its own sources: it is added from its own page, with the package set.
        return False


class YearListFilter(admin.SimpleListFilter):
    title = "year announced"
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = Pledge.objects.dates("announced_on", "year", order="DESC")
        return [(str(day.year), str(day.year)) for day in years]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(announced_on__year=int(self.value()))
        return queryset


class CurrencyListFilter(admin.SimpleListFilter):
    title = "currency"
    parameter_name = "currency"

    def lookups(self, request, model_admin):
        codes = (
            Pledge.objects.exclude(currency="")
            .order_by("currency")
            .values_list("currency", flat=True)
            .distinct()
        )
        return [(code, code) for code in codes]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(currency=self.value())
        return queryset


class ReannouncementListFilter(admin.SimpleListFilter):
    title = "re-announcement"
    parameter_name = "reannouncement"

    def lookups(self, request, model_admin):
        return [("true", "Re-announcements"), ("false", "New pledges")]

    def queryset(self, request, queryset):
        if self.value() in ("true", "false"):
            return queryset.filter(reannounces__isnull=self.value() == "false")
        return queryset


class PledgeAdminForm(forms.ModelForm):
    """The model's rules (``full_clean``), then the rules that read other pledges
    (packages, re-announcements), as the API and imports.
    (The admin builds the form's Meta from its fieldsets, keeping these widgets: the recipient
    chosen by country name, "Ukraine (UA)", stored as its code.)"""

    class Meta:
        widgets = {"recipient": forms.Select(choices=country_choices())}

    def _post_clean(self):
        super()._post_clean()
        errors = check_package_rules(
            self.instance, lookups=PackageLookups(), rates=ExchangeRate.objects
        )
        if errors:
            self._update_errors(ValidationError(errors))


@admin.register(Pledge)
class PledgeAdmin(ImportExportMixin, SimpleHistoryAdmin):
    form = PledgeAdminForm
    # Import and export in the layout of manage.py import_pledges / export_pledges.
    resource_classes = [PledgeResource]
    formats = [CSV, XLSX]
    form = PledgeAdminForm
    import_form_class = PledgeImportForm
    list_display = [
        "title",
        "donor",
        "category",
        "announced",
        "stated_amount",
        "value_in_euros",
        "status",
        "package",
    ]
    list_select_related = ["donor", "category", "parent", "parent__donor"]
    list_filter = [
        "status",
        "confidence",
        ReannouncementListFilter,
        "category",
        ("donor", admin.RelatedOnlyFieldListFilter),
        ("event", admin.RelatedOnlyFieldListFilter),
        CurrencyListFilter,
        YearListFilter,
        "amount_basis",
    ]
    search_fields = ["title", "description", "items__name", "donor__name", "external_ref"]
    autocomplete_fields = ["donor", "category", "event", "parent", "reannounces"]
    date_hierarchy = "announced_on"
    show_full_result_count = False
    list_per_page = 50
    inlines = [PledgeItemInline, SourceInline, ComponentInline]
    # The derived figures with thousands separators, and why a value is missing.
    readonly_fields = ["total", "value_eur_shown", "rate_date", *BOOKKEEPING_FIELDS]
    fieldsets = [
        (None, {"fields": ["donor", "title", "description", "category", "event", "recipient"]}),
        (
            "Announcement",
            {
                "fields": [
                    "announced_on",
                    "status",
                    "confidence",
                    "parent",
                    "reannounces",
                    "external_ref",
                ]
            },
        ),
        (
            "Value",
            {
                "fields": [
                    ("amount", "currency"),
                    "amount_basis",
                    ("period_start_year", "period_end_year"),
                ]
            },
        ),
        (
            "Derived (computed from the amount and the ECB rates)",
            {"fields": readonly_fields},
        ),
    ]

    class Media:
        css = {"all": ["pledges/admin/pledges.css"]}

    def save_model(self, request, obj, form, change):
        store_pledge(obj)  # with its derived values and next version (also when reverting)

    @admin.display(description="announced", ordering="announced_on")
    def announced(self, pledge):
        return pledge.announced_on

    @admin.display(description="amount", ordering="amount")
    def stated_amount(self, pledge):
        return amount_text(pledge)

    @admin.display(description="value (EUR)", ordering="value_eur")
    def value_in_euros(self, pledge):
        return value_text(pledge)

    @admin.display(description="package", ordering="parent")
    def package(self, pledge):
        if pledge.parent is None:
            return ""
        title = pledge.parent.title
        return format_html(
            '<span title="{}">{}</span>', str(pledge.parent), Truncator(title).chars(28)
        )

    @admin.display(description="total amount")
    def total(self, pledge):
        if pledge.total_amount is None:
            return "not stated"
        return f"{grouped(pledge.total_amount)} {pledge.currency}"

    @admin.display(description="value (EUR)")
    def value_eur_shown(self, pledge):
        if pledge.value_eur is not None:
            return grouped(pledge.value_eur)
        return value_eur_note(pledge) if pledge.pk else ""

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # The package autocomplete offers only pledges that can be packages: not components.
        if request.GET.get("field_name") == "parent":
            queryset = queryset.filter(Q(parent__isnull=True))
        return queryset, may_have_duplicates

    # The counted values of packages follow every deletion (``counted``).
    def delete_model(self, request, obj):
        delete_pledge(obj)

    def delete_queryset(self, request, queryset):
        for pledge in queryset:
            delete_pledge(pledge)

    # Reviewers may change only the status of a pledge.
    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or request.user.has_perm(
            "pledges.change_pledge_status"
        )

    def get_readonly_fields(self, request, obj=None):
        if request.user.has_perm("pledges.change_pledge"):
            return self.readonly_fields
        editable = {"status"}
        every_field = [field.name for field in Pledge._meta.fields if field.editable]
        return [*self.readonly_fields, *(name for name in every_field if name not in editable)]

    # Import adds pledges and rewrites any other through its reference: both permissions.
    def has_import_permission(self, request):
        return may_import(request.user)

    def import_action(self, request, **kwargs):
        # Refused before the body is read: an oversized upload is never written to disk.
        length = request.META.get("CONTENT_LENGTH") or "0"
        limit = settings.IMPORT_MAX_FILE_SIZE
        if length.isdigit() and int(length) > limit + IMPORT_FORM_ALLOWANCE:
            if not self.has_import_permission(request):
                raise PermissionDenied
            return HttpResponse(
                f"The upload is too large: files of at most {limit:,} bytes can be imported.",
                status=413,
                content_type="text/plain; charset=utf-8",
            )
        return super().import_action(request, **kwargs)

    # Reverting restores every field of an earlier version: only for those who may change
    # every field, not for reviewers (status only) or view-only staff.
    def revert_disabled(self, request, obj=None):
        return not may_edit(request.user) or super().revert_disabled(request, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if not may_edit(request.user):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)
