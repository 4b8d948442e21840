"""Database connectors: project connections to PostgreSQL, MySQL/MariaDB and SQLite, browsed and queried
read-only, imported into data sources and exported back to tables.

Modules (services: no Reflex import):
- ``secrets``: Fernet encryption of credentials at rest (key rotation).
- ``policy``: which targets a connection may reach (never the app's own database; SQLite only in a folder).
- ``readonly``: a read-only connection with a statement timeout, per dialect.
- ``connections``: connections per project (roles), test, engines.
- ``schema``: schemas, tables, views, columns, a 100-row preview.
- ``query``: the visual query builder (SQLAlchemy Core, bound parameters) and the raw SQL guard.
- ``transfer``: import as a job (chunked into a Parquet data source), refresh, export to a table.
"""
