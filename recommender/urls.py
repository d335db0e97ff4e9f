from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path, reverse_lazy
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from common.views import bad_request, endpoint_not_found, server_error
from recommender.dashboard.views import dashboard
from recommender.health import healthz

api_v1 = [
    path("", include("users.urls")),
    path("", include("catalogue.urls")),
    path("", include("listening.urls")),
    path("", include("emotion.urls")),
    path("", include("recommender.api_urls")),
]

urlpatterns = [
    # Before the admin's own routes, whose last one catches every other path under admin/.
    # Wrapped like every admin page: staff only, others are sent to the admin's login.
    path("admin/dashboard/", admin.site.admin_view(dashboard), name="admin-dashboard"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include(api_v1)),
    path("1/", include("listening.listenbrainz_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Last: any other path under the REST API or the ListenBrainz API answers in its format.
    re_path(r"^(?:api|1)/", endpoint_not_found, name="endpoint-not-found"),
]

# A request Django refuses to parse (too many fields, ...) answers in the error format, not
# with an HTML page.
handler400 = bad_request
# An unhandled exception too: API clients get JSON, never Django's HTML 500 page.
handler500 = server_error

# The service has no web pages of its own; the admin's "View site" opens the API docs.
admin.site.site_url = reverse_lazy("swagger-ui")
# The admin's index with a link to the dashboard (recommender/templates/admin/site_index.html).
admin.site.index_template = "admin/site_index.html"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
