from django.urls import path

from appointments import views

app_name = "appointments"

urlpatterns = [
    path("request/", views.request_appointment, name="request"),
    path("request/check/", views.request_check, name="request_check"),
    path("request/stop/", views.request_stop, name="request_stop"),
    path("request/<slug:slug>/", views.request_step, name="request_step"),
    path("refer/", views.refer_patient, name="refer"),
    path("sent/", views.sent, name="sent"),
    path("status/<str:token>/", views.status, name="status"),
]
