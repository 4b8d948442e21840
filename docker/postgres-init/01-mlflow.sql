-- Runs once, when the db volume is first initialised, as POSTGRES_USER (so hydroml owns it).
-- The MLflow server keeps experiments, runs and the model registry in this database.
CREATE DATABASE mlflow;
