from django.contrib import admin

from .models import SentMessage

# The reports' drill-down links open this list; the full SentMessage admin comes with sending.
admin.site.register(SentMessage)
