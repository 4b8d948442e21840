"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from hydroml.models.base import TableBase
from hydroml.models.connection import DatabaseConnection
from hydroml.models.datasource import DataSource, DataSourceVersion, ProjectDataSource
from hydroml.models.experiment import TrainingRun
from hydroml.models.project import Project, ProjectMember
from hydroml.models.studio import StudioSession
from hydroml.models.user import AuthSession, LoginAttempt, User

__all__ = [
    "AuthSession",
    "DatabaseConnection",
    "DataSource",
    "DataSourceVersion",
    "LoginAttempt",
    "Project",
    "ProjectDataSource",
    "ProjectMember",
    "StudioSession",
    "TableBase",
    "TrainingRun",
    "User",
]
