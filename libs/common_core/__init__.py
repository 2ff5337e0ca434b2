"""Platform contracts shared by HuleEdu services: envelope, events, topics, error codes."""
