"""Request and response models, one module per area: they validate input and document the
API (OpenAPI)."""
