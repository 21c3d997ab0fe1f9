"""The admin's import form: the upload is checked before django-import-export reads it."""

import zipfile

from django import forms
from django.conf import settings
from import_export.forms import ImportForm

from .spreadsheet import SpreadsheetError, check_archive


class PledgeImportForm(ImportForm):
    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        limit = settings.IMPORT_MAX_FILE_SIZE
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; files of at most {limit:,} bytes can be "
                "imported (IMPORT_MAX_FILE_SIZE). Split it, or import it with manage.py "
                "import_pledges."
            )
        if zipfile.is_zipfile(upload):
            try:
                check_archive(upload)
            except SpreadsheetError as error:
                raise forms.ValidationError(str(error)) from error
        upload.seek(0)
        return upload
