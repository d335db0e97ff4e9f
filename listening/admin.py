from django.contrib import admin

from listening.models import Play


@admin.register(Play)
class PlayAdmin(admin.ModelAdmin):
    list_display = ("played_at", "listener", "track", "ms_played", "client", "received_at")
    list_filter = ("played_at", "received_at", "client")
    search_fields = ("listener__username", "track__title", "track__artist", "client")
    raw_id_fields = ("listener", "track")
    date_hierarchy = "played_at"
    list_select_related = ("listener", "track")
