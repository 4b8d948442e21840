"""Run by test_experiments_journey with the served app's environment: the demo data cleaned in a studio session
(dates parsed, negative flows missing, ST04 in m3/s, short gaps interpolated, monthly, 1-3 month lags)."""

from hydroml.services import auth, datasources, projects
from hydroml.services.studio import sessions

user = auth.find_user("demo")
project = next(p for p in projects.list_projects(user) if p.name == "Demo catchments")
source = next(
    s for s in datasources.list_data_sources(user, project.id) if s.name == "Daily hydro-meteorology"
)
info = sessions.create_session(user, project.id, source.id, "Monthly forecast features")
station_04 = {"combine": "all", "rules": [{"column": "station_id", "op": "=", "value": "ST04"}]}
steps = [
    ("parse_datetime", {"column": "date"}),
    ("flag_nonpositive_flow", {"column": "flow"}),
    ("convert_units", {"columns": ["flow"], "from_unit": "L/s", "to_unit": "m3/s", "only_where": station_04}),
    ("interpolate", {"columns": ["flow"], "method": "linear", "max_gap": 3, "group_by": "station_id"}),
    (
        "resample",
        {
            "time_column": "date",
            "group_by": "station_id",
            "frequency": "MS",
            "aggregations": {"precip_mm": "sum", "flow": "mean"},
        },
    ),
    ("lag_features", {"columns": ["flow", "precip_mm"], "lags": [1, 2, 3], "group_by": "station_id"}),
]
revision = info.revision
for op, params in steps:
    revision = sessions.add_step(user, project.id, info.id, revision, op, params).info.revision
print(project.id, info.id)
