"""HuleEdu Class Management Service."""

SERVICE_NAME = "class_management_service"
SERVICE_VERSION = "1.0.0"
