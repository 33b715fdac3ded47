from django.urls import path

from appointments import views

app_name = "appointments"

urlpatterns = [
    path("request/", views.request_appointment, name="request"),
    path("refer/", views.refer_patient, name="refer"),
    path("sent/", views.sent, name="sent"),
    path("status/<str:token>/", views.status, name="status"),
]
