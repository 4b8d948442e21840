"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from hydroml.models.base import TableBase
from hydroml.models.user import AuthSession, LoginAttempt, User

__all__ = ["AuthSession", "LoginAttempt", "TableBase", "User"]
