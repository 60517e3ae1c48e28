"""The data layer: models, migrations, the store (every query and commit) and field encryption."""
