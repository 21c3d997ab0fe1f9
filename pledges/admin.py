from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import Q
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV
from simple_history.admin import SimpleHistoryAdmin

from .choices import AmountBasis
from .codes import country_choices
from .counted import refresh_counted_values
from .forms import PledgeImportForm
from .fulfilments import (
    RecordLookups,
    delete_fulfilment,
    load_held,
    pledge_record_errors,
    pledge_records,
    record_field_errors,
    record_item_errors,
    settle,
    store_fulfilment,
)
from .models import (
    BOOKKEEPING_FIELDS,
    SOURCE_FIELDS,
    Category,
    Donor,
    Event,
    ExchangeRate,
    Fulfilment,
    FulfilmentItem,
    FulfilmentSource,
    Pledge,
    PledgeItem,
    Source,
    validate_sources,
)
from .package_rules import PackageLookups, check_package_rules
from .permissions import EDIT_PLEDGES, VIEW_PLEDGES, may_edit, may_import
from .resources import PledgeResource, PledgeXLSX
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


def form_errors(form, errors: dict) -> ValidationError:
    """Errors by field, those of fields the form does not show (read only) as the form's own."""
    shown: dict[str, list] = {}
    for name, messages in errors.items():
        shown.setdefault(name if name in form.fields else NON_FIELD_ERRORS, []).extend(messages)
    return ValidationError(shown)


class PledgeItemFormSet(BaseInlineFormSet):
    """Each item once (by name); an item that records refer to is not removed, nor given less
    than they hold (``fulfilments``, as for the API and imports)."""

    def clean(self):
        super().clean()
        pk = self.instance.pk
        held = load_held([pk]).get(pk) if pk else None
        names: set[str] = set()
        problems = []
        for form in self.forms:
            data = form.cleaned_data
            if not data:
                continue
            item = form.instance
            recorded = held.quantity(item.pk) if held and item.pk else 0
            if data.get("DELETE"):
                if recorded or (held and item.pk in held.items):
                    problems.append(
                        f"The item {item.name!r} is in allocation or delivery records: it "
                        "cannot be removed."
                    )
                continue
            if data.get("name") in names:
                form.add_error("name", "The pledge lists an item of this name already.")
            names.add(data.get("name"))
            quantity = data.get("quantity")
            if quantity is not None and recorded > quantity:
                form.add_error("quantity", f"Records hold {recorded:,}: it cannot be less.")
        if problems:
            raise ValidationError(problems)


class PledgeItemInline(admin.TabularInline):
    model = PledgeItem
    formset = PledgeItemFormSet
    extra = 0
    fields = ["name", "quantity", "quantity_delivered"]
    readonly_fields = ["quantity_delivered"]


class SourceInline(admin.TabularInline):
    model = Source
    formset = AtLeastOneSourceFormSet
    extra = 0
    min_num = 1
    fields = SOURCE_FIELDS


class PledgePermissions:
    """A fulfilment record is part of its pledge: written by those who may change pledges,
    read by those who may view them."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(VIEW_PLEDGES) or request.user.has_perm(EDIT_PLEDGES)

    def has_add_permission(self, request, *args):
        return request.user.has_perm(EDIT_PLEDGES)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(EDIT_PLEDGES)

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm(EDIT_PLEDGES)

    def has_module_permission(self, request):
        return self.has_view_permission(request)


def record_amount(record: Fulfilment) -> str:
    if record.amount is None:
        return ""
    return f"{grouped(record.amount)} {record.pledge.currency}"


def record_quantities(record: Fulfilment) -> str:
    return format_html_join(
        ", ", "{} {}", ((f"{row.quantity:,}", row.item.name) for row in record.items.all())
    )


class FulfilmentInline(PledgePermissions, admin.TabularInline):
    """The pledge's records, read here, written on their own page (link; "add" below)."""

    model = Fulfilment
    verbose_name = "allocation or delivery record"
    verbose_name_plural = "allocation and delivery records"
    extra = 0
    show_change_link = True
    can_delete = False
    fields = ["kind", "date", "amount_shown", "quantities", "note"]
    readonly_fields = fields

    @admin.display(description="amount")
    def amount_shown(self, record):
        return record_amount(record)

    @admin.display(description="quantities")
    def quantities(self, record):
        return record_quantities(record)

    def get_queryset(self, request):
        return (
            super().get_queryset(request).select_related("pledge").prefetch_related("items__item")
        )

    def has_add_permission(self, request, obj=None):
        return False  # on the record's own page (the pledge page links it), with its sources

    def has_change_permission(self, request, obj=None):
        return False


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
        lookups, rates = PackageLookups(), ExchangeRate.objects
        errors = check_package_rules(self.instance, lookups=lookups, rates=rates)
        if not errors and not self.errors:
            # What its records hold (its items are checked by their formset).
            errors = pledge_record_errors(
                self.instance, None, records=RecordLookups(), packages=lookups, rates=rates
            )
        if errors:
            self._update_errors(form_errors(self, errors))


@admin.register(Pledge)
class PledgeAdmin(ImportExportMixin, SimpleHistoryAdmin):
    form = PledgeAdminForm
    # Import and export in the layout of manage.py import_pledges / export_pledges.
    resource_classes = [PledgeResource]
    formats = [CSV, PledgeXLSX]
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
    inlines = [PledgeItemInline, SourceInline, FulfilmentInline, ComponentInline]
    # The derived figures with thousands separators, and why a value is missing.
    readonly_fields = ["total", "value_eur_shown", "rate_date", *BOOKKEEPING_FIELDS]
    lifecycle_fields = ["allocated", "delivered", "delivery", "undated", "add_record"]
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
        ("Allocated and delivered (from the records below)", {"fields": lifecycle_fields}),
    ]

    class Media:
        css = {"all": ["pledges/admin/pledges.css"]}

    def save_model(self, request, obj, form, change):
        store_pledge(obj)  # with its derived values and next version (also when reverting)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Its items may have changed what its records make of it (``lifecycle``).
        refresh_counted_values([form.instance.pk])

    def get_readonly_fields(self, request, obj=None):
        return [*self._readonly_for(request), *self.lifecycle_fields]

    @admin.display(description="allocated")
    def allocated(self, pledge):
        return self._in_currency(pledge, pledge.allocated_amount)

    @admin.display(description="delivered")
    def delivered(self, pledge):
        return self._in_currency(pledge, pledge.delivered_amount)

    @staticmethod
    def _in_currency(pledge, value):
        if pledge.pk is None or value is None:
            return ""
        return f"{grouped(value)} {pledge.currency}"

    @admin.display(description="record")
    def add_record(self, pledge):
        if pledge.pk is None:
            return "Save the pledge first."
        url = reverse("admin:pledges_fulfilment_add") + f"?pledge={pledge.pk}"
        return format_html('<a href="{}">Add an allocation or delivery record</a>', url)

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

    def _readonly_for(self, request):
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


# --- fulfilment records -------------------------------------------------------------------


def record_pledge_id(request, object_id=None) -> int | None:
    """The pledge whose items a record's form offers: the one posted, asked for (``?pledge=``,
    the pledge page's link) or stored."""
    for data in (request.POST, request.GET):
        value = data.get("pledge", "")
        if value.isascii() and value.isdigit() and len(value) <= 18:
            return int(value)
    if object_id is not None and str(object_id).isdigit():
        found = Fulfilment.objects.filter(pk=object_id).values_list("pledge_id", flat=True)
        return found.first()
    return None


class FulfilmentItemFormSet(BaseInlineFormSet):
    """The record's items by the rules of ``fulfilments`` (``self.instance`` holds the record
    form's values): items of its pledge, each once, within what was pledged; an amount or an
    item quantity."""

    def clean(self):
        super().clean()
        record = self.instance
        forms_kept = [
            form
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("item")
        ]
        rows = [
            FulfilmentItem(
                item=form.cleaned_data["item"], quantity=form.cleaned_data.get("quantity")
            )
            for form in forms_kept
        ]
        context = None
        if record.pledge_id is not None:
            context = pledge_records([record.pledge_id], excluding=record.pk).get(record.pledge_id)
        row_errors, general = record_item_errors(record, rows, context)
        for form, errors in zip(forms_kept, row_errors, strict=True):
            for name, messages in errors.items():
                for message in messages:
                    form.add_error(name, message)
        if general:
            raise ValidationError(general)


class FulfilmentItemInline(PledgePermissions, admin.TabularInline):
    model = FulfilmentItem
    formset = FulfilmentItemFormSet
    extra = 1
    fields = ["item", "quantity"]
    verbose_name = "item quantity"
    verbose_name_plural = "quantities of the pledge's items"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "item":
            object_id = request.resolver_match.kwargs.get("object_id")
            pledge_id = record_pledge_id(request, object_id)
            kwargs["queryset"] = PledgeItem.objects.filter(pledge_id=pledge_id)
            kwargs["help_text"] = "The pledge's own items (choose the pledge and save to see them)."
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class AtLeastOneRecordSourceFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not kept:
            raise ValidationError("A record needs at least one source.")


class FulfilmentSourceInline(PledgePermissions, admin.TabularInline):
    model = FulfilmentSource
    formset = AtLeastOneRecordSourceFormSet
    extra = 0
    min_num = 1
    fields = SOURCE_FIELDS
    verbose_name = "source"


class FulfilmentAdminForm(forms.ModelForm):
    """The record's own rules against its pledge (``fulfilments``), as the API and imports."""

    def _post_clean(self):
        super()._post_clean()
        record = self.instance
        if record.pledge_id is None or "pledge" in self.errors:
            return
        context = pledge_records([record.pledge_id], excluding=record.pk).get(record.pledge_id)
        errors = record_field_errors(record, context)
        if errors:
            self._update_errors(form_errors(self, errors))


@admin.register(Fulfilment)
class FulfilmentAdmin(PledgePermissions, SimpleHistoryAdmin):
    form = FulfilmentAdminForm
    list_display = ["pledge_shown", "kind", "date", "amount_shown", "quantities"]
    list_select_related = ["pledge", "pledge__donor"]
    list_filter = ["kind", ("pledge__donor", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["pledge__title", "pledge__external_ref", "note"]
    autocomplete_fields = ["pledge"]
    date_hierarchy = "date"
    show_full_result_count = False
    list_per_page = 50
    inlines = [FulfilmentItemInline, FulfilmentSourceInline]
    readonly_fields = ["currency", *BOOKKEEPING_FIELDS]
    fieldsets = [
        (None, {"fields": ["pledge", "kind", "date", ("amount", "currency"), "note"]}),
        ("Bookkeeping", {"fields": BOOKKEEPING_FIELDS}),
    ]

    class Media:
        css = {"all": ["pledges/admin/pledges.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("items__item")

    @admin.display(description="pledge", ordering="pledge__title")
    def pledge_shown(self, record):
        return format_html(
            '<span title="{}">{}</span>',
            str(record.pledge),
            Truncator(record.pledge.title).chars(40),
        )

    @admin.display(description="amount", ordering="amount")
    def amount_shown(self, record):
        return record_amount(record)

    @admin.display(description="quantities")
    def quantities(self, record):
        return record_quantities(record)

    @admin.display(description="currency")
    def currency(self, record):
        if record.pledge_id is None:
            return "the pledge's"
        return record.pledge.currency or "(the pledge states no amount: quantities only)"

    # The one write path: next version, then its items and sources, then its pledge follows.
    def save_model(self, request, obj, form, change):
        stored = Fulfilment.objects.filter(pk=obj.pk).values_list("pledge_id", flat=True)
        obj._left_pledge = stored.first() if obj.pk else None
        Pledge.objects.select_for_update().filter(pk=obj.pledge_id).first()
        store_fulfilment(obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        record = form.instance
        settle([record.pledge_id, getattr(record, "_left_pledge", None)])

    def delete_model(self, request, obj):
        delete_fulfilment(obj)

    def delete_queryset(self, request, queryset):
        for record in queryset:
            delete_fulfilment(record)

    def revert_disabled(self, request, obj=None):
        return not may_edit(request.user) or super().revert_disabled(request, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if not may_edit(request.user):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)
