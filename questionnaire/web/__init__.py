"""The web layer: the patient and staff blueprints, forms, page cache, security headers and logs."""
